import type { OpSchema } from './op-schema.js';
import { SchemaTable } from './schema-table.js';

/*
 * The ai.onnx operators up to opset 21, one entry per version in which inputs, attributes or type
 * lists changed. Versions that only changed semantics (for example new attribute values) are kept
 * when they are cheap to list. Checked against onnxruntime's registered schemas by
 * scripts/verify-op-schemas.mts.
 */
export function aiOnnxSchemas(): OpSchema[] {
  const t = new SchemaTable('');
  const op = t.op.bind(t);

  /** An element-wise operator `X -> Y` over one type variable, per version. */
  const unary = (name: string, versions: [since: number, types: string, attrs?: string][], sig = 'X:T -> Y:T') => {
    for (const [since, types, attrs] of versions) op(name, since, sig, { T: types }, attrs ?? '');
  };
  const LEGACY = 'consumed_inputs:is';

  // ---- element-wise math ----
  for (const name of ['Add', 'Sub', 'Mul', 'Div']) {
    op(name, 1, 'A:T, B:T -> C:T', { T: '$F' }, `axis:i broadcast:i ${LEGACY}`);
    op(name, 6, 'A:T, B:T -> C:T', { T: '$N7' }, 'axis:i broadcast:i');
    op(name, 7, 'A:T, B:T -> C:T', { T: '$N7' });
    op(name, 13, 'A:T, B:T -> C:T', { T: '$N7|bfloat16' });
    op(name, 14, 'A:T, B:T -> C:T', { T: '$NB' });
  }
  op('Pow', 1, 'X:T, Y:T -> Z:T', { T: '$F' }, 'axis:i broadcast:i');
  op('Pow', 7, 'X:T, Y:T -> Z:T', { T: '$F' });
  op('Pow', 12, 'X:T, Y:T1 -> Z:T', { T: 'int32|int64|$F', T1: '$N' });
  op('Pow', 13, 'X:T, Y:T1 -> Z:T', { T: 'int32|int64|$FB', T1: '$N' });
  op('Pow', 15, 'X:T, Y:T1 -> Z:T', { T: 'int32|int64|$FB', T1: '$NB' });
  op('Mod', 10, 'A:T, B:T -> C:T', { T: '$N' }, 'fmod:i');
  op('Mod', 13, 'A:T, B:T -> C:T', { T: '$NB' }, 'fmod:i');
  for (const name of ['And', 'Or', 'Xor']) {
    op(name, 1, 'A:T, B:T -> C:T1', { T: 'bool', T1: 'bool' }, 'axis:i broadcast:i');
    op(name, 7, 'A:T, B:T -> C:T1', { T: 'bool', T1: 'bool' });
  }
  op('Not', 1, 'X:T -> Y:T', { T: 'bool' });
  op('Equal', 1, 'A:T, B:T -> C:T1', { T: 'bool|int32|int64', T1: 'bool' }, 'axis:i broadcast:i');
  op('Equal', 7, 'A:T, B:T -> C:T1', { T: 'bool|int32|int64', T1: 'bool' });
  op('Equal', 11, 'A:T, B:T -> C:T1', { T: 'bool|$N', T1: 'bool' });
  op('Equal', 13, 'A:T, B:T -> C:T1', { T: 'bool|$NB', T1: 'bool' });
  op('Equal', 19, 'A:T, B:T -> C:T1', { T: 'bool|$NB|string', T1: 'bool' });
  for (const name of ['Greater', 'Less']) {
    op(name, 1, 'A:T, B:T -> C:T1', { T: '$F', T1: 'bool' }, 'axis:i broadcast:i');
    op(name, 7, 'A:T, B:T -> C:T1', { T: '$F', T1: 'bool' });
    op(name, 9, 'A:T, B:T -> C:T1', { T: '$N', T1: 'bool' });
    op(name, 13, 'A:T, B:T -> C:T1', { T: '$NB', T1: 'bool' });
  }
  for (const name of ['GreaterOrEqual', 'LessOrEqual']) {
    op(name, 12, 'A:T, B:T -> C:T1', { T: '$N', T1: 'bool' });
    op(name, 16, 'A:T, B:T -> C:T1', { T: '$NB', T1: 'bool' });
  }
  op('BitShift', 11, 'X:T, Y:T -> Z:T', { T: '$U' }, 'direction:s!');
  for (const name of ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']) op(name, 18, 'A:T, B:T -> C:T', { T: '$I|$U' });
  op('BitwiseNot', 18, 'X:T -> Y:T', { T: '$I|$U' });

  for (const name of ['Acos', 'Asin', 'Atan', 'Cos', 'Sin', 'Tan']) unary(name, [[7, '$F']], 'input:T -> output:T');
  for (const name of ['Acosh', 'Asinh', 'Atanh', 'Cosh', 'Sinh']) unary(name, [[9, '$F']], 'input:T -> output:T');
  for (const name of ['Ceil', 'Floor', 'Exp', 'Log', 'Reciprocal', 'Sqrt', 'Sigmoid', 'Tanh', 'Relu']) {
    const sig = name === 'Log' || name === 'Exp' || name === 'Tanh' ? 'input:T -> output:T' : 'X:T -> Y:T';
    unary(name, [[1, '$F', LEGACY], [6, '$F'], [13, '$FB']], sig);
  }
  unary('Relu', [[14, '$FB|$I']]);
  unary('Neg', [[1, '$F', LEGACY], [6, 'float|int32|int8|int16|int64|float16|double'], [13, 'float|int32|int8|int16|int64|float16|double|bfloat16']]);
  unary('Abs', [[1, '$F', LEGACY], [6, '$N'], [13, '$NB']]);
  unary('Elu', [[1, '$F', `alpha:f ${LEGACY}`], [6, '$F', 'alpha:f']]);
  unary('Selu', [[1, '$F', `alpha:f gamma:f ${LEGACY}`], [6, '$F', 'alpha:f gamma:f']]);
  unary('HardSigmoid', [[1, '$F', `alpha:f beta:f ${LEGACY}`], [6, '$F', 'alpha:f beta:f']]);
  unary('LeakyRelu', [[1, '$F', `alpha:f ${LEGACY}`], [6, '$F', 'alpha:f'], [16, '$FB', 'alpha:f']]);
  unary('ThresholdedRelu', [[10, '$F', 'alpha:f']]);
  unary('Softplus', [[1, '$F']]);
  unary('Softsign', [[1, '$F']], 'input:T -> output:T');
  unary('HardSwish', [[14, '$F']]);
  unary('Mish', [[18, '$F']]);
  unary('Celu', [[12, 'float', 'alpha:f']]);
  unary('Gelu', [[20, '$FB', 'approximate:s']]);
  // Beyond opset 21, the one operator the fp16 pass had typed by hand: onnxruntime 1.30 registers it.
  unary('Swish', [[24, '$FB', 'alpha:f']]);
  unary('Erf', [[9, '$N'], [13, '$FB']], 'input:T -> output:T');
  unary('Sign', [[9, '$N'], [13, '$NB']], 'input:T -> output:T');
  unary('Round', [[11, '$F']]);
  unary('Det', [[11, '$F']]);
  unary('Shrink', [[9, '$N', 'bias:f lambd:f']], 'input:T -> output:T');
  op('IsNaN', 9, 'X:T1 -> Y:T2', { T1: '$F', T2: 'bool' });
  op('IsNaN', 13, 'X:T1 -> Y:T2', { T1: '$FB', T2: 'bool' });
  op('IsNaN', 20, 'X:T1 -> Y:T2', { T1: '$FB|$F8', T2: 'bool' });
  op('IsInf', 10, 'X:T1 -> Y:T2', { T1: 'float|double', T2: 'bool' }, 'detect_negative:i detect_positive:i');
  op('IsInf', 20, 'X:T1 -> Y:T2', { T1: '$FB|$F8', T2: 'bool' }, 'detect_negative:i detect_positive:i');
  op('PRelu', 1, 'X:T, slope:T -> Y:T', { T: '$F' }, LEGACY);
  op('PRelu', 6, 'X:T, slope:T -> Y:T', { T: '$F' });
  op('PRelu', 7, 'X:T, slope:T -> Y:T', { T: '$F' });
  op('PRelu', 9, 'X:T, slope:T -> Y:T', { T: '$N7' });
  op('PRelu', 16, 'X:T, slope:T -> Y:T', { T: '$N7|bfloat16' });
  op('Clip', 1, 'input:T -> output:T', { T: '$F' }, `max:f min:f ${LEGACY}`);
  op('Clip', 6, 'input:T -> output:T', { T: '$F' }, 'max:f min:f');
  op('Clip', 11, 'input:T, min?:T, max?:T -> output:T', { T: '$F' });
  op('Clip', 12, 'input:T, min?:T, max?:T -> output:T', { T: '$N' });
  op('Clip', 13, 'input:T, min?:T, max?:T -> output:T', { T: '$NB' });
  for (const name of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    unary(name, [[1, '$F', 'axis:i'], [11, '$F', 'axis:i'], [13, '$FB', 'axis:i']], 'input:T -> output:T');
  }
  for (const name of ['Max', 'Min', 'Sum', 'Mean']) {
    const out = name.toLowerCase();
    op(name, 1, `data_0*:T -> ${out}:T`, { T: '$F' }, LEGACY);
    op(name, 6, `data_0*:T -> ${out}:T`, { T: '$F' });
    op(name, 8, `data_0*:T -> ${out}:T`, { T: '$F' });
    if (name === 'Max' || name === 'Min') {
      op(name, 12, `data_0*:T -> ${out}:T`, { T: '$N' });
      op(name, 13, `data_0*:T -> ${out}:T`, { T: '$NB' });
    } else {
      op(name, 13, `data_0*:T -> ${out}:T`, { T: '$FB' });
    }
  }

  // ---- linear algebra ----
  op('MatMul', 1, 'A:T, B:T -> Y:T', { T: '$F' });
  op('MatMul', 9, 'A:T, B:T -> Y:T', { T: '$N7' });
  op('MatMul', 13, 'A:T, B:T -> Y:T', { T: '$N7|bfloat16' });
  op('Gemm', 1, 'A:T, B:T, C:T -> Y:T', { T: '$F' }, 'alpha:f beta:f broadcast:i transA:i transB:i');
  op('Gemm', 6, 'A:T, B:T, C:T -> Y:T', { T: '$F' }, 'alpha:f beta:f broadcast:i transA:i transB:i');
  op('Gemm', 7, 'A:T, B:T, C:T -> Y:T', { T: '$F' }, 'alpha:f beta:f transA:i transB:i');
  op('Gemm', 9, 'A:T, B:T, C:T -> Y:T', { T: '$N7' }, 'alpha:f beta:f transA:i transB:i');
  op('Gemm', 11, 'A:T, B:T, C?:T -> Y:T', { T: '$N7' }, 'alpha:f beta:f transA:i transB:i');
  op('Gemm', 13, 'A:T, B:T, C?:T -> Y:T', { T: '$N7|bfloat16' }, 'alpha:f beta:f transA:i transB:i');
  op('MatMulInteger', 10, 'A:T1, B:T2, a_zero_point?:T1, b_zero_point?:T2 -> Y:T3', { T1: 'int8|uint8', T2: 'int8|uint8', T3: 'int32' });
  op('Einsum', 12, 'Inputs*:T -> Output:T', { T: '$N' }, 'equation:s!');
  op('CumSum', 11, 'x:T, axis:T2 -> y:T', { T: 'uint32|uint64|int32|int64|float|double', T2: 'int32|int64' }, 'exclusive:i reverse:i');
  op('CumSum', 14, 'x:T, axis:T2 -> y:T', { T: 'uint32|uint64|int32|int64|$FB', T2: 'int32|int64' }, 'exclusive:i reverse:i');

  // ---- convolution and pooling ----
  const CONV = 'auto_pad:s dilations:is group:i kernel_shape:is pads:is strides:is';
  op('Conv', 1, 'X:T, W:T, B?:T -> Y:T', { T: '$F' }, CONV);
  op('Conv', 11, 'X:T, W:T, B?:T -> Y:T', { T: '$F' }, CONV);
  op('ConvTranspose', 1, 'X:T, W:T, B?:T -> Y:T', { T: '$F' }, `${CONV} output_padding:is output_shape:is`);
  op('ConvTranspose', 11, 'X:T, W:T, B?:T -> Y:T', { T: '$F' }, `${CONV} output_padding:is output_shape:is`);
  op('ConvInteger', 10, 'x:T1, w:T2, x_zero_point?:T1, w_zero_point?:T2 -> y:T3', { T1: 'int8|uint8', T2: 'int8|uint8', T3: 'int32' }, CONV);
  op('QLinearConv', 10,
    'x:T1, x_scale:float, x_zero_point:T1, w:T2, w_scale:float, w_zero_point:T2, y_scale:float, y_zero_point:T3, B?:T4 -> y:T3',
    { T1: 'int8|uint8', T2: 'int8|uint8', T3: 'int8|uint8', T4: 'int32' }, CONV);
  op('DeformConv', 19, 'X:T, W:T, offset:T, B?:T, mask?:T -> Y:T', { T: '$F' }, 'dilations:is group:i kernel_shape:is offset_group:i pads:is strides:is');
  const POOL = 'auto_pad:s kernel_shape:is! pads:is strides:is';
  op('AveragePool', 1, 'X:T -> Y:T', { T: '$F' }, POOL);
  op('AveragePool', 7, 'X:T -> Y:T', { T: '$F' }, `${POOL} count_include_pad:i`);
  op('AveragePool', 10, 'X:T -> Y:T', { T: '$F' }, `${POOL} count_include_pad:i ceil_mode:i`);
  op('AveragePool', 11, 'X:T -> Y:T', { T: '$F' }, `${POOL} count_include_pad:i ceil_mode:i`);
  op('AveragePool', 19, 'X:T -> Y:T', { T: '$F' }, `${POOL} count_include_pad:i ceil_mode:i dilations:is`);
  op('MaxPool', 1, 'X:T -> Y:T', { T: '$F' }, POOL);
  op('MaxPool', 8, 'X:T -> Y:T, Indices?:int64', { T: '$F' }, `${POOL} storage_order:i`);
  op('MaxPool', 10, 'X:T -> Y:T, Indices?:int64', { T: '$F' }, `${POOL} storage_order:i ceil_mode:i dilations:is`);
  op('MaxPool', 11, 'X:T -> Y:T, Indices?:int64', { T: '$F' }, `${POOL} storage_order:i ceil_mode:i dilations:is`);
  op('MaxPool', 12, 'X:T -> Y:T, Indices?:int64', { T: '$F|int8|uint8' }, `${POOL} storage_order:i ceil_mode:i dilations:is`);
  op('LpPool', 1, 'X:T -> Y:T', { T: '$F' }, 'auto_pad:s kernel_shape:is p:f pads:is strides:is');
  op('LpPool', 2, 'X:T -> Y:T', { T: '$F' }, `${POOL} p:i`);
  op('LpPool', 11, 'X:T -> Y:T', { T: '$F' }, `${POOL} p:i`);
  op('LpPool', 18, 'X:T -> Y:T', { T: '$F' }, `${POOL} p:i ceil_mode:i dilations:is`);
  op('GlobalAveragePool', 1, 'X:T -> Y:T', { T: '$F' });
  op('GlobalMaxPool', 1, 'X:T -> Y:T', { T: '$F' });
  op('GlobalLpPool', 1, 'X:T -> Y:T', { T: '$F' }, 'p:f');
  op('GlobalLpPool', 2, 'X:T -> Y:T', { T: '$F' }, 'p:i');
  op('MaxRoiPool', 1, 'X:T, rois:T -> Y:T', { T: '$F' }, 'pooled_shape:is! spatial_scale:f');
  op('MaxUnpool', 9, 'X:T1, I:T2, output_shape?:T2 -> output:T1', { T1: '$F', T2: 'int64' }, 'kernel_shape:is! pads:is strides:is');
  op('MaxUnpool', 11, 'X:T1, I:T2, output_shape?:T2 -> output:T1', { T1: '$F', T2: 'int64' }, 'kernel_shape:is! pads:is strides:is');
  const ROI = 'mode:s output_height:i output_width:i sampling_ratio:i spatial_scale:f';
  op('RoiAlign', 10, 'X:T1, rois:T1, batch_indices:T2 -> Y:T1', { T1: '$F', T2: 'int64' }, ROI);
  op('RoiAlign', 16, 'X:T1, rois:T1, batch_indices:T2 -> Y:T1', { T1: '$F', T2: 'int64' }, `${ROI} coordinate_transformation_mode:s`);

  // ---- normalization ----
  const BN1 = 'X:T, scale:T, B:T, mean:T, var:T -> Y:T, mean?:T, var?:T, saved_mean?:T, saved_var?:T';
  op('BatchNormalization', 1, BN1, { T: '$F' }, 'consumed_inputs:is! epsilon:f is_test:i momentum:f spatial:i');
  op('BatchNormalization', 6, BN1, { T: '$F' }, 'epsilon:f is_test:i momentum:f spatial:i');
  op('BatchNormalization', 7, BN1, { T: '$F' }, 'epsilon:f momentum:f spatial:i');
  op('BatchNormalization', 9, BN1, { T: '$F' }, 'epsilon:f momentum:f');
  op('BatchNormalization', 14, 'X:T, scale:T, B:T, input_mean:U, input_var:U -> Y:T, running_mean?:U, running_var?:U',
    { T: '$FB', U: '$FB' }, 'epsilon:f momentum:f training_mode:i');
  op('BatchNormalization', 15, 'X:T, scale:T1, B:T1, input_mean:T2, input_var:T2 -> Y:T, running_mean?:T2, running_var?:T2',
    { T: '$FB', T1: '$FB', T2: '$FB' }, 'epsilon:f momentum:f training_mode:i');
  op('InstanceNormalization', 1, 'input:T, scale:T, B:T -> output:T', { T: '$F' }, `epsilon:f ${LEGACY}`);
  op('InstanceNormalization', 6, 'input:T, scale:T, B:T -> output:T', { T: '$F' }, 'epsilon:f');
  op('LRN', 1, 'X:T -> Y:T', { T: '$F' }, 'alpha:f beta:f bias:f size:i!');
  op('LRN', 13, 'X:T -> Y:T', { T: '$FB' }, 'alpha:f beta:f bias:f size:i!');
  op('LpNormalization', 1, 'input:T -> output:T', { T: '$F' }, 'axis:i p:i');
  op('MeanVarianceNormalization', 9, 'X:T -> Y:T', { T: '$F' }, 'axes:is');
  op('MeanVarianceNormalization', 13, 'X:T -> Y:T', { T: '$FB' }, 'axes:is');
  // onnxruntime registered LayerNormalization in the default domain long before the spec did (opset 17).
  op('LayerNormalization', 1, 'X:T, Scale:V, B?:V -> Y:V, Mean?:U, InvStdDev?:U', { T: '$FB', U: 'float|double|bfloat16', V: '$FB' },
    'axis:i epsilon:f stash_type:i', { runtimeOnly: true });
  op('LayerNormalization', 17, 'X:T, Scale:T, B?:T -> Y:T, Mean?:U, InvStdDev?:U', { T: '$FB', U: 'float|bfloat16' }, 'axis:i epsilon:f stash_type:i');
  op('SimplifiedLayerNormalization', 1, 'X:T, scale:V -> Y:V, inv_std_var?:U', { T: '$FB', U: 'float|double|bfloat16', V: '$FB' },
    'axis:i epsilon:f stash_type:i', { runtimeOnly: true });
  op('GroupNormalization', 18, 'X:T, scale:T, bias:T -> Y:T', { T: '$FB' }, 'epsilon:f num_groups:i!');
  op('GroupNormalization', 21, 'X:T, scale:T, bias:T -> Y:T', { T: '$FB' }, 'epsilon:f num_groups:i! stash_type:i');

  // ---- recurrent ----
  const RNN_ATTRS = 'activation_alpha:fs activation_beta:fs activations:ss clip:f direction:s hidden_size:i';
  const RNN_SIG = 'X:T, W:T, R:T, B?:T, sequence_lens?:T1, initial_h?:T -> Y?:T, Y_h?:T';
  op('RNN', 1, RNN_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} output_sequence:i`);
  op('RNN', 7, RNN_SIG, { T: '$F', T1: 'int32' }, RNN_ATTRS);
  op('RNN', 14, RNN_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} layout:i`);
  // GRU-1 declared Y_h required (so both output slots count).
  op('GRU', 1, RNN_SIG.replace('Y_h?', 'Y_h'), { T: '$F', T1: 'int32' }, `${RNN_ATTRS} output_sequence:i`);
  op('GRU', 3, RNN_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} linear_before_reset:i output_sequence:i`);
  op('GRU', 7, RNN_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} linear_before_reset:i`);
  op('GRU', 14, RNN_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} linear_before_reset:i layout:i`);
  const LSTM_SIG = 'X:T, W:T, R:T, B?:T, sequence_lens?:T1, initial_h?:T, initial_c?:T, P?:T -> Y?:T, Y_h?:T, Y_c?:T';
  op('LSTM', 1, LSTM_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} input_forget:i output_sequence:i`);
  op('LSTM', 7, LSTM_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} input_forget:i`);
  op('LSTM', 14, LSTM_SIG, { T: '$F', T1: 'int32' }, `${RNN_ATTRS} input_forget:i layout:i`);

  // ---- type conversion ----
  op('Cast', 1, 'input:T1 -> output:T2', { T1: '$N|bool', T2: '$N|bool' }, 'to:s!');
  op('Cast', 6, 'input:T1 -> output:T2', { T1: '$N|bool', T2: '$N|bool' }, 'to:i!');
  op('Cast', 9, 'input:T1 -> output:T2', { T1: '$N|bool|string', T2: '$N|bool|string' }, 'to:i!');
  op('Cast', 13, 'input:T1 -> output:T2', { T1: '$C', T2: '$C' }, 'to:i!');
  op('Cast', 19, 'input:T1 -> output:T2', { T1: '$C|$F8', T2: '$C|$F8' }, 'saturate:i to:i!');
  op('Cast', 21, 'input:T1 -> output:T2', { T1: '$C|$F8|$Q4', T2: '$C|$F8|$Q4' }, 'saturate:i to:i!');
  op('CastLike', 15, 'input:T1, target_type:T2 -> output:T2', { T1: '$C', T2: '$C' });
  op('CastLike', 19, 'input:T1, target_type:T2 -> output:T2', { T1: '$C|$F8', T2: '$C|$F8' }, 'saturate:i');
  op('CastLike', 21, 'input:T1, target_type:T2 -> output:T2', { T1: '$C|$F8|$Q4', T2: '$C|$F8|$Q4' }, 'saturate:i');

  // ---- quantization ----
  op('QuantizeLinear', 10, 'x:T1, y_scale:float, y_zero_point?:T2 -> y:T2', { T1: 'float|int32', T2: 'int8|uint8' });
  op('QuantizeLinear', 13, 'x:T1, y_scale:float, y_zero_point?:T2 -> y:T2', { T1: 'float|int32', T2: 'int8|uint8' }, 'axis:i');
  op('QuantizeLinear', 19, 'x:T1, y_scale:T1, y_zero_point?:T2 -> y:T2', { T1: 'float|float16|bfloat16|int32', T2: 'int8|uint8|$F8' }, 'axis:i saturate:i');
  op('QuantizeLinear', 21, 'x:T1, y_scale:T1, y_zero_point?:T2 -> y:T2',
    { T1: 'float|float16|bfloat16|int32', T2: 'int8|uint8|int16|uint16|$F8|$Q4' }, 'axis:i block_size:i output_dtype:i saturate:i');
  op('DequantizeLinear', 10, 'x:T, x_scale:float, x_zero_point?:T -> y:float', { T: 'int8|uint8|int32' });
  op('DequantizeLinear', 13, 'x:T, x_scale:float, x_zero_point?:T -> y:float', { T: 'int8|uint8|int32' }, 'axis:i');
  op('DequantizeLinear', 19, 'x:T1, x_scale:T2, x_zero_point?:T1 -> y:T2', { T1: 'int8|uint8|int32|$F8', T2: 'float|float16|bfloat16' }, 'axis:i');
  op('DequantizeLinear', 21, 'x:T1, x_scale:T2, x_zero_point?:T1 -> y:T2',
    { T1: 'int8|uint8|int16|uint16|int32|$F8|$Q4', T2: 'float|float16|bfloat16' }, 'axis:i block_size:i');
  op('DynamicQuantizeLinear', 11, 'x:T1 -> y:T2, y_scale:float, y_zero_point:T2', { T1: 'float', T2: 'uint8' });
  op('QLinearMatMul', 10, 'a:T1, a_scale:float, a_zero_point:T1, b:T2, b_scale:float, b_zero_point:T2, y_scale:float, y_zero_point:T3 -> y:T3',
    { T1: 'int8|uint8', T2: 'int8|uint8', T3: 'int8|uint8' });
  op('QLinearMatMul', 21, 'a:T1, a_scale:TS, a_zero_point:T1, b:T2, b_scale:TS, b_zero_point:T2, y_scale:TS, y_zero_point:T3 -> y:T3',
    { TS: 'float|float16|bfloat16', T1: 'int8|uint8|$F8', T2: 'int8|uint8|$F8', T3: 'int8|uint8|$F8' });

  // ---- shape and data movement ----
  op('Reshape', 1, 'data:T -> reshaped:T', { T: '$F' }, `${LEGACY} shape:is`);
  op('Reshape', 5, 'data:T, shape:int64 -> reshaped:T', { T: '$A' });
  op('Reshape', 13, 'data:T, shape:int64 -> reshaped:T', { T: '$AB' });
  op('Reshape', 14, 'data:T, shape:int64 -> reshaped:T', { T: '$AB' }, 'allowzero:i');
  op('Reshape', 19, 'data:T, shape:int64 -> reshaped:T', { T: '$A19' }, 'allowzero:i');
  op('Reshape', 21, 'data:T, shape:int64 -> reshaped:T', { T: '$A21' }, 'allowzero:i');
  op('Flatten', 1, 'input:T -> output:T', { T: '$F' }, 'axis:i');
  op('Flatten', 9, 'input:T -> output:T', { T: '$A' }, 'axis:i');
  op('Flatten', 11, 'input:T -> output:T', { T: '$A' }, 'axis:i');
  op('Flatten', 13, 'input:T -> output:T', { T: '$AB' }, 'axis:i');
  op('Flatten', 21, 'input:T -> output:T', { T: '$A21' }, 'axis:i');
  op('Squeeze', 1, 'data:T -> squeezed:T', { T: '$A' }, 'axes:is');
  op('Squeeze', 11, 'data:T -> squeezed:T', { T: '$A' }, 'axes:is');
  op('Squeeze', 13, 'data:T, axes?:int64 -> squeezed:T', { T: '$AB' });
  op('Squeeze', 21, 'data:T, axes?:int64 -> squeezed:T', { T: '$A21' });
  op('Unsqueeze', 1, 'data:T -> expanded:T', { T: '$A' }, 'axes:is!');
  op('Unsqueeze', 11, 'data:T -> expanded:T', { T: '$A' }, 'axes:is!');
  op('Unsqueeze', 13, 'data:T, axes:int64 -> expanded:T', { T: '$AB' });
  op('Unsqueeze', 21, 'data:T, axes:int64 -> expanded:T', { T: '$A21' });
  op('Transpose', 1, 'data:T -> transposed:T', { T: '$A' }, 'perm:is');
  op('Transpose', 13, 'data:T -> transposed:T', { T: '$AB' }, 'perm:is');
  op('Transpose', 21, 'data:T -> transposed:T', { T: '$A21' }, 'perm:is');
  op('Identity', 1, 'input:T -> output:T', { T: '$A' });
  op('Identity', 13, 'input:T -> output:T', { T: '$AB' });
  op('Identity', 14, 'input:V -> output:V', { V: 'any($AB)' });
  op('Identity', 16, 'input:V -> output:V', { V: 'any($AB)' });
  op('Identity', 19, 'input:V -> output:V', { V: 'any($A19)' });
  op('Identity', 21, 'input:V -> output:V', { V: 'any($A21)' });
  op('Shape', 1, 'data:T -> shape:T1', { T: '$A', T1: 'int64' });
  op('Shape', 13, 'data:T -> shape:T1', { T: '$AB', T1: 'int64' });
  op('Shape', 15, 'data:T -> shape:T1', { T: '$AB', T1: 'int64' }, 'end:i start:i');
  op('Shape', 19, 'data:T -> shape:T1', { T: '$A19', T1: 'int64' }, 'end:i start:i');
  op('Shape', 21, 'data:T -> shape:T1', { T: '$A21', T1: 'int64' }, 'end:i start:i');
  op('Size', 1, 'data:T -> size:T1', { T: '$A', T1: 'int64' });
  op('Size', 13, 'data:T -> size:T1', { T: '$AB', T1: 'int64' });
  op('Size', 19, 'data:T -> size:T1', { T: '$A19', T1: 'int64' });
  op('Size', 21, 'data:T -> size:T1', { T: '$A21', T1: 'int64' });
  op('Concat', 1, 'inputs*:T -> concat_result:T', { T: '$F' }, 'axis:i');
  op('Concat', 4, 'inputs*:T -> concat_result:T', { T: '$A' }, 'axis:i!');
  op('Concat', 11, 'inputs*:T -> concat_result:T', { T: '$A' }, 'axis:i!');
  op('Concat', 13, 'inputs*:T -> concat_result:T', { T: '$AB' }, 'axis:i!');
  op('Split', 1, 'input:T, split?:T -> outputs*:T', { T: '$F' }, 'axis:i split:is');
  op('Split', 2, 'input:T -> outputs*:T', { T: '$A' }, 'axis:i split:is');
  op('Split', 11, 'input:T -> outputs*:T', { T: '$A' }, 'axis:i split:is');
  op('Split', 13, 'input:T, split?:int64 -> outputs*:T', { T: '$AB' }, 'axis:i');
  op('Split', 18, 'input:T, split?:int64 -> outputs*:T', { T: '$AB' }, 'axis:i num_outputs:i');
  op('Slice', 1, 'data:T -> output:T', { T: '$A' }, 'axes:is ends:is! starts:is!');
  op('Slice', 10, 'data:T, starts:Tind, ends:Tind, axes?:Tind, steps?:Tind -> output:T', { T: '$A', Tind: 'int32|int64' });
  op('Slice', 11, 'data:T, starts:Tind, ends:Tind, axes?:Tind, steps?:Tind -> output:T', { T: '$A', Tind: 'int32|int64' });
  op('Slice', 13, 'data:T, starts:Tind, ends:Tind, axes?:Tind, steps?:Tind -> output:T', { T: '$AB', Tind: 'int32|int64' });
  op('Gather', 1, 'data:T, indices:Tind -> output:T', { T: '$A', Tind: 'int32|int64' }, 'axis:i');
  op('Gather', 11, 'data:T, indices:Tind -> output:T', { T: '$A', Tind: 'int32|int64' }, 'axis:i');
  op('Gather', 13, 'data:T, indices:Tind -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'axis:i');
  op('GatherElements', 11, 'data:T, indices:Tind -> output:T', { T: '$A', Tind: 'int32|int64' }, 'axis:i');
  op('GatherElements', 13, 'data:T, indices:Tind -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'axis:i');
  op('GatherND', 11, 'data:T, indices:int64 -> output:T', { T: '$A' });
  op('GatherND', 12, 'data:T, indices:int64 -> output:T', { T: '$A' }, 'batch_dims:i');
  op('GatherND', 13, 'data:T, indices:int64 -> output:T', { T: '$AB' }, 'batch_dims:i');
  op('Scatter', 9, 'data:T, indices:Tind, updates:T -> output:T', { T: '$A', Tind: 'int32|int64' }, 'axis:i', { deprecatedSince: 11 });
  op('ScatterElements', 11, 'data:T, indices:Tind, updates:T -> output:T', { T: '$A', Tind: 'int32|int64' }, 'axis:i');
  op('ScatterElements', 13, 'data:T, indices:Tind, updates:T -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'axis:i');
  op('ScatterElements', 16, 'data:T, indices:Tind, updates:T -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'axis:i reduction:s');
  op('ScatterElements', 18, 'data:T, indices:Tind, updates:T -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'axis:i reduction:s');
  op('ScatterND', 11, 'data:T, indices:int64, updates:T -> output:T', { T: '$A' });
  op('ScatterND', 13, 'data:T, indices:int64, updates:T -> output:T', { T: '$AB' });
  op('ScatterND', 16, 'data:T, indices:int64, updates:T -> output:T', { T: '$AB' }, 'reduction:s');
  op('ScatterND', 18, 'data:T, indices:int64, updates:T -> output:T', { T: '$AB' }, 'reduction:s');
  op('Expand', 8, 'input:T, shape:int64 -> output:T', { T: '$A' });
  op('Expand', 13, 'input:T, shape:int64 -> output:T', { T: '$AB' });
  op('Tile', 1, 'input:T, tiles:T, axis:T -> output:T', { T: '$F' });
  op('Tile', 6, 'input:T, repeats:T1 -> output:T', { T: '$A', T1: 'int64' });
  op('Tile', 13, 'input:T, repeats:T1 -> output:T', { T: '$AB', T1: 'int64' });
  op('Pad', 1, 'data:T -> output:T', { T: '$F' }, 'mode:s paddings:is! value:f');
  op('Pad', 2, 'data:T -> output:T', { T: '$F' }, 'mode:s pads:is! value:f');
  op('Pad', 11, 'data:T, pads:int64, constant_value?:T -> output:T', { T: '$N' }, 'mode:s');
  op('Pad', 13, 'data:T, pads:int64, constant_value?:T -> output:T', { T: '$AB' }, 'mode:s');
  op('Pad', 18, 'data:T, pads:int64, constant_value?:T, axes?:Tind -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'mode:s');
  op('Pad', 19, 'data:T, pads:int64, constant_value?:T, axes?:Tind -> output:T', { T: '$AB', Tind: 'int32|int64' }, 'mode:s');
  op('Pad', 21, 'data:T, pads:int64, constant_value?:T, axes?:Tind -> output:T', { T: '$A21', Tind: 'int32|int64' }, 'mode:s');
  op('SpaceToDepth', 1, 'input:T -> output:T', { T: '$A' }, 'blocksize:i!');
  op('SpaceToDepth', 13, 'input:T -> output:T', { T: '$AB' }, 'blocksize:i!');
  op('DepthToSpace', 1, 'input:T -> output:T', { T: '$A' }, 'blocksize:i!');
  op('DepthToSpace', 11, 'input:T -> output:T', { T: '$A' }, 'blocksize:i! mode:s');
  op('DepthToSpace', 13, 'input:T -> output:T', { T: '$AB' }, 'blocksize:i! mode:s');
  op('Compress', 9, 'input:T, condition:T1 -> output:T', { T: '$A', T1: 'bool' }, 'axis:i');
  op('Compress', 11, 'input:T, condition:T1 -> output:T', { T: '$A', T1: 'bool' }, 'axis:i');
  op('Where', 9, 'condition:B, X:T, Y:T -> output:T', { B: 'bool', T: '$A' });
  op('Where', 16, 'condition:B, X:T, Y:T -> output:T', { B: 'bool', T: '$AB' });
  op('OneHot', 9, 'indices:T1, depth:T2, values:T3 -> output:T3', { T1: '$N', T2: '$N', T3: '$A' }, 'axis:i');
  op('OneHot', 11, 'indices:T1, depth:T2, values:T3 -> output:T3', { T1: '$N', T2: '$N', T3: '$A' }, 'axis:i');
  op('NonZero', 9, 'X:T -> Y:int64', { T: '$A' });
  op('NonZero', 13, 'X:T -> Y:int64', { T: '$AB' });
  op('TopK', 1, 'X:T -> Values:T, Indices:I', { T: '$F', I: 'int64' }, 'axis:i k:i!');
  op('TopK', 10, 'X:T, K:int64 -> Values:T, Indices:I', { T: '$F', I: 'int64' }, 'axis:i');
  op('TopK', 11, 'X:T, K:int64 -> Values:T, Indices:I', { T: '$N', I: 'int64' }, 'axis:i largest:i sorted:i');
  op('Unique', 11, 'X:T -> Y:T, indices?:int64, inverse_indices?:int64, counts?:int64', { T: '$A' }, 'axis:i sorted:i');
  op('ReverseSequence', 10, 'input:T, sequence_lens:int64 -> Y:T', { T: '$A' }, 'batch_axis:i time_axis:i');
  op('Trilu', 14, 'input:T, k?:int64 -> output:T', { T: '$AB' }, 'upper:i');
  op('CenterCropPad', 18, 'input_data:T, shape:Tind -> output_data:T', { T: '$AB', Tind: 'int32|int64' }, 'axes:is');
  op('Col2Im', 18, 'input:T, image_shape:int64, block_shape:int64 -> output:T', { T: '$AB' }, 'dilations:is pads:is strides:is');
  op('Range', 11, 'start:T, limit:T, delta:T -> output:T', { T: 'float|double|int16|int32|int64' });

  // ---- resizing and sampling ----
  op('Upsample', 1, 'X:T -> Y:T', { T: 'bool|int32|int64|$F' }, 'height_scale:f! mode:s width_scale:f!', { runtimeOnly: true });
  op('Upsample', 7, 'X:T -> Y:T', { T: '$A' }, 'mode:s scales:fs!');
  op('Upsample', 9, 'X:T, scales:float -> Y:T', { T: '$A' }, 'mode:s');
  op('Upsample', 10, 'X:T, scales:float -> Y:T', { T: '$A' }, 'mode:s', { deprecatedSince: 10 });
  op('Resize', 10, 'X:T, scales:float -> Y:T', { T: '$A' }, 'mode:s');
  const RESIZE = 'coordinate_transformation_mode:s cubic_coeff_a:f exclude_outside:i extrapolation_value:f mode:s nearest_mode:s';
  op('Resize', 11, 'X:T1, roi:T2, scales:float, sizes?:int64 -> Y:T1', { T1: '$A', T2: '$F' }, RESIZE);
  op('Resize', 13, 'X:T1, roi?:T2, scales?:float, sizes?:int64 -> Y:T1', { T1: '$AB', T2: '$F' }, RESIZE);
  const RESIZE18 = `${RESIZE} antialias:i axes:is keep_aspect_ratio_policy:s`;
  op('Resize', 18, 'X:T1, roi?:T2, scales?:float, sizes?:int64 -> Y:T1', { T1: '$AB', T2: '$F' }, RESIZE18);
  op('Resize', 19, 'X:T1, roi?:T2, scales?:float, sizes?:int64 -> Y:T1', { T1: '$AB', T2: '$F' }, RESIZE18);
  op('GridSample', 16, 'X:T1, grid:T2 -> Y:T1', { T1: '$A', T2: '$F' }, 'align_corners:i mode:s padding_mode:s');
  op('GridSample', 20, 'X:T1, grid:T2 -> Y:T1', { T1: '$A', T2: '$F' }, 'align_corners:i mode:s padding_mode:s');
  op('AffineGrid', 20, 'theta:T1, size:T2 -> grid:T1', { T1: '$FB', T2: 'int64' }, 'align_corners:i');

  // ---- generators ----
  // The spec lists only float types for Constant-1, but exporters wrote int64 constants at opset 1-8
  // and onnxruntime loads them (it turns constants into initializers unchecked).
  op('Constant', 1, '-> output:T', { T: '$A' }, 'value:t!');
  op('Constant', 9, '-> output:T', { T: '$A' }, 'value:t!');
  op('Constant', 11, '-> output:T', { T: '$A' }, 'sparse_value:sp value:t');
  const CONST12 = 'sparse_value:sp value:t value_float:f value_floats:fs value_int:i value_ints:is value_string:s value_strings:ss';
  op('Constant', 12, '-> output:T', { T: '$A' }, CONST12);
  op('Constant', 13, '-> output:T', { T: '$AB' }, CONST12);
  op('Constant', 19, '-> output:T', { T: '$A19' }, CONST12);
  op('Constant', 21, '-> output:T', { T: '$A21' }, CONST12);
  op('ConstantOfShape', 9, 'input:T1 -> output:T2', { T1: 'int64', T2: '$N|bool' }, 'value:t');
  op('ConstantOfShape', 20, 'input:T1 -> output:T2', { T1: 'int64', T2: '$NB|bool|$F8' }, 'value:t');
  op('ConstantOfShape', 21, 'input:T1 -> output:T2', { T1: 'int64', T2: '$NB|bool|$F8|$Q4' }, 'value:t');
  op('EyeLike', 9, 'input:T1 -> output:T2', { T1: '$N|bool', T2: '$N|bool' }, 'dtype:i k:i');
  op('RandomNormal', 1, '-> output:T', { T: '$F' }, 'dtype:i mean:f scale:f seed:f shape:is!');
  op('RandomUniform', 1, '-> output:T', { T: '$F' }, 'dtype:i high:f low:f seed:f shape:is!');
  op('RandomNormalLike', 1, 'input:T1 -> output:T2', { T1: '$A', T2: '$F' }, 'dtype:i mean:f scale:f seed:f');
  op('RandomUniformLike', 1, 'input:T1 -> output:T2', { T1: '$A', T2: '$F' }, 'dtype:i high:f low:f seed:f');
  op('Multinomial', 7, 'input:T1 -> output:T2', { T1: '$F', T2: 'int32|int64' }, 'dtype:i sample_size:i seed:f');
  op('Bernoulli', 15, 'input:T1 -> output:T2', { T1: '$F', T2: '$FB|$I|$U|bool' }, 'dtype:i seed:f');
  for (const name of ['BlackmanWindow', 'HammingWindow', 'HannWindow']) {
    op(name, 17, 'size:T1 -> output:T2', { T1: 'int32|int64', T2: '$NB' }, 'output_datatype:i periodic:i');
  }
  op('MelWeightMatrix', 17,
    'num_mel_bins:T1, dft_length:T1, sample_rate:T1, lower_edge_hertz:T2, upper_edge_hertz:T2 -> output:T3',
    { T1: 'int32|int64', T2: '$FB', T3: '$NB' }, 'output_datatype:i');
  op('DFT', 17, 'input:T1, dft_length?:T2 -> output:T1', { T1: '$FB', T2: 'int32|int64' }, 'axis:i inverse:i onesided:i');
  op('DFT', 20, 'input:T1, dft_length?:T2, axis?:int64 -> output:T1', { T1: '$FB', T2: 'int32|int64' }, 'inverse:i onesided:i');
  op('STFT', 17, 'signal:T1, frame_step:T2, window?:T1, frame_length?:T2 -> output:T1', { T1: '$FB', T2: 'int32|int64' }, 'onesided:i');

  // ---- reductions ----
  for (const name of ['ArgMax', 'ArgMin']) {
    op(name, 1, 'data:T -> reduced:int64', { T: '$N' }, 'axis:i keepdims:i');
    op(name, 11, 'data:T -> reduced:int64', { T: '$N' }, 'axis:i keepdims:i');
    op(name, 12, 'data:T -> reduced:int64', { T: '$N' }, 'axis:i keepdims:i select_last_index:i');
    op(name, 13, 'data:T -> reduced:int64', { T: '$NB' }, 'axis:i keepdims:i select_last_index:i');
  }
  const REDUCE_OLD = 'axes:is keepdims:i';
  const REDUCE_NEW = 'keepdims:i noop_with_empty_axes:i';
  for (const name of ['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare']) {
    const minMax = name === 'ReduceMax' || name === 'ReduceMin';
    op(name, 1, 'data:T -> reduced:T', { T: '$N7' }, REDUCE_OLD);
    op(name, 11, 'data:T -> reduced:T', { T: '$N7' }, REDUCE_OLD);
    if (minMax) op(name, 12, 'data:T -> reduced:T', { T: '$N7|int8|uint8' }, REDUCE_OLD);
    const t13 = minMax ? '$N7|int8|uint8|bfloat16' : '$N7|bfloat16';
    if (name === 'ReduceSum') {
      op(name, 13, 'data:T, axes?:int64 -> reduced:T', { T: t13 }, REDUCE_NEW);
      continue;
    }
    op(name, 13, 'data:T -> reduced:T', { T: t13 }, REDUCE_OLD);
    op(name, 18, 'data:T, axes?:int64 -> reduced:T', { T: t13 }, REDUCE_NEW);
    if (minMax) op(name, 20, 'data:T, axes?:int64 -> reduced:T', { T: `${t13}|bool` }, REDUCE_NEW);
  }

  // ---- losses, dropout ----
  op('Dropout', 1, 'data:T -> output:T, mask?:T', { T: '$F' }, `${LEGACY} is_test:i ratio:f`);
  op('Dropout', 6, 'data:T -> output:T, mask?:T', { T: '$F' }, 'is_test:i ratio:f');
  op('Dropout', 7, 'data:T -> output:T, mask?:T', { T: '$F' }, 'ratio:f');
  op('Dropout', 10, 'data:T -> output:T, mask?:T1', { T: '$F', T1: 'bool' }, 'ratio:f');
  op('Dropout', 12, 'data:T, ratio?:T1, training_mode?:T2 -> output:T, mask?:T2', { T: '$F', T1: '$F', T2: 'bool' }, 'seed:i');
  op('Dropout', 13, 'data:T, ratio?:T1, training_mode?:T2 -> output:T, mask?:T2', { T: '$FB', T1: '$F', T2: 'bool' }, 'seed:i');
  op('NegativeLogLikelihoodLoss', 12, 'input:T, target:Tind, weight?:T -> loss:T', { T: '$F', Tind: 'int32|int64' }, 'ignore_index:i reduction:s');
  op('NegativeLogLikelihoodLoss', 13, 'input:T, target:Tind, weight?:T -> loss:T', { T: '$F', Tind: 'int32|int64' }, 'ignore_index:i reduction:s');
  op('SoftmaxCrossEntropyLoss', 12, 'scores:T, labels:Tind, weights?:T -> output:T, log_prob?:T', { T: '$F', Tind: 'int32|int64' }, 'ignore_index:i reduction:s');
  op('SoftmaxCrossEntropyLoss', 13, 'scores:T, labels:Tind, weights?:T -> output:T, log_prob?:T', { T: '$FB', Tind: 'int32|int64' }, 'ignore_index:i reduction:s');
  op('NonMaxSuppression', 10, 'boxes:float, scores:float, max_output_boxes_per_class?:int64, iou_threshold?:float, score_threshold?:float -> selected_indices:int64', {}, 'center_point_box:i');
  op('NonMaxSuppression', 11, 'boxes:float, scores:float, max_output_boxes_per_class?:int64, iou_threshold?:float, score_threshold?:float -> selected_indices:int64', {}, 'center_point_box:i');

  // ---- text and images ----
  op('StringNormalizer', 10, 'X:string -> Y:string', {}, 'case_change_action:s is_case_sensitive:i locale:s stopwords:ss');
  op('StringConcat', 20, 'X:T, Y:T -> Z:T', { T: 'string' });
  op('StringSplit', 20, 'X:T1 -> Y:T2, Z:T3', { T1: 'string', T2: 'string', T3: 'int64' }, 'delimiter:s maxsplit:i');
  op('RegexFullMatch', 20, 'X:T1 -> Y:T2', { T1: 'string', T2: 'bool' }, 'pattern:s');
  op('TfIdfVectorizer', 9, 'X:T -> Y:T1', { T: 'string|int32|int64', T1: 'float' },
    'max_gram_length:i! max_skip_count:i! min_gram_length:i! mode:s! ngram_counts:is! ngram_indexes:is! pool_int64s:is pool_strings:ss weights:fs');
  op('ImageDecoder', 20, 'encoded_stream:T1 -> image:T2', { T1: 'uint8', T2: 'uint8' }, 'pixel_format:s');

  // ---- optionals and sequences ----
  op('Optional', 15, 'input?:V -> output:O', { V: 'any($A)', O: 'opt($A)' }, 'type:tp');
  op('OptionalHasElement', 15, 'input:O -> output:B', { O: 'opt($A)', B: 'bool' });
  op('OptionalHasElement', 18, 'input?:O -> output:B', { O: 'any($AB)', B: 'bool' });
  op('OptionalGetElement', 15, 'input:O -> output:V', { O: 'opt($A)', V: 'any($A)' });
  op('OptionalGetElement', 18, 'input:O -> output:V', { O: 'any($AB)', V: 'any($AB)' });
  op('SequenceEmpty', 11, '-> output:S', { S: 'seq($A)' }, 'dtype:i');
  op('SequenceConstruct', 11, 'inputs*:T -> output_sequence:S', { T: '$A', S: 'seq($A)' });
  op('SequenceInsert', 11, 'input_sequence:S, tensor:T, position?:I -> output_sequence:S', { S: 'seq($A)', T: '$A', I: 'int32|int64' });
  op('SequenceAt', 11, 'input_sequence:S, position:I -> tensor:T', { S: 'seq($A)', T: '$A', I: 'int32|int64' });
  op('SequenceErase', 11, 'input_sequence:S, position?:I -> output_sequence:S', { S: 'seq($A)', I: 'int32|int64' });
  op('SequenceLength', 11, 'input_sequence:S -> length:I', { S: 'seq($A)', I: 'int64' });
  op('SplitToSequence', 11, 'input:T, split?:I -> output_sequence:S', { T: '$A', I: 'int32|int64', S: 'seq($A)' }, 'axis:i keepdims:i');
  op('ConcatFromSequence', 11, 'input_sequence:S -> concat_result:T', { S: 'seq($A)', T: '$A' }, 'axis:i! new_axis:i');
  op('SequenceMap', 17, 'input_sequence:S, additional_inputs*0~:V -> out_sequence*~:S', { S: 'seq($AB)', V: 'any($AB)' }, 'body:g!');

  // ---- control flow ----
  const ifTypes: [number, string][] = [[1, '$A'], [11, '$A'], [13, 'any($AB)'], [16, 'any($AB)'], [19, 'any($A19)'], [21, 'any($A21)']];
  for (const [since, v] of ifTypes) op('If', since, 'cond:B -> outputs*~:V', { B: 'bool', V: v }, 'else_branch:g! then_branch:g!');
  // Loop needs at least one loop-carried value before opset 11.
  for (const [since, v] of ifTypes) {
    op('Loop', since, `M?:I, cond?:B, v_initial*${since < 11 ? '' : '0'}~:V -> v_final_and_scan_outputs*~:V`, { I: 'int64', B: 'bool', V: v }, 'body:g!');
  }
  op('Scan', 8, 'sequence_lens?:I, initial_state_and_scan_inputs*~:V -> final_state_and_scan_outputs*~:V', { I: 'int64', V: '$A' },
    'body:g! directions:is num_scan_inputs:i!');
  const SCAN9 = 'body:g! num_scan_inputs:i! scan_input_axes:is scan_input_directions:is scan_output_axes:is scan_output_directions:is';
  for (const [since, v] of [[9, '$A'], [11, '$A'], [16, '$AB'], [19, '$A19'], [21, '$A21']] as const) {
    op('Scan', since, 'initial_state_and_scan_inputs*~:V -> final_state_and_scan_outputs*~:V', { V: v }, SCAN9);
  }

  // ---- experimental operators of opset 1, which onnxruntime still loads below opset 10 ----
  const legacy = { runtimeOnly: true, deprecatedSince: 10 };
  op('Affine', 1, 'X:T -> Y:T', { T: '$F' }, 'alpha:f beta:f', legacy);
  op('Crop', 1, 'input:T -> output:T', { T: '$F' }, 'border:is scale:is', legacy);
  op('DynamicSlice', 1, 'data:T, starts:Tind, ends:Tind, axes?:Tind -> output:T', { T: '$A', Tind: 'int32|int64' }, '', legacy);
  op('GivenTensorFill', 1, 'shape?:T -> X:T', { T: '$F' }, 'extra_shape:is input_as_shape:i shape:is values:fs', legacy);
  op('ImageScaler', 1, 'input:T -> output:T', { T: '$F' }, 'bias:fs scale:f', legacy);
  op('ParametricSoftplus', 1, 'X:T -> Y:T', { T: '$F' }, 'alpha:f beta:f', legacy);
  op('Scale', 1, 'input:T -> output:T', { T: '$F' }, 'scale:f', legacy);
  op('ScaledTanh', 1, 'input:T -> output:T', { T: '$F' }, 'alpha:f beta:f', legacy);
  op('ThresholdedRelu', 1, 'X:T -> Y:T', { T: '$F' }, 'alpha:f', legacy);
  op('MeanVarianceNormalization', 1, 'input:T -> output:T', { T: '$F' }, 'across_channels:i normalize_variance:i', legacy);

  return t.schemas;
}
