import type { OpSchema } from './op-schema.js';
import { SchemaTable } from './schema-table.js';

/**
 * The com.microsoft contrib operators that onnxruntime's exporters, transformer optimizer and
 * quantizer emit (all at domain version 1). Attributes follow onnxruntime 1.30.
 */
export function comMicrosoftSchemas(): OpSchema[] {
  const t = new SchemaTable('com.microsoft');
  const op = t.op.bind(t);
  const F = 'float|float16|bfloat16';
  const CONV = 'auto_pad:s dilations:is group:i kernel_shape:is pads:is strides:is';

  // ---- transformer fusions ----
  op('Attention', 1, 'input:T, weights:T, bias?:T, mask_index?:M, past?:T, attention_bias?:T, past_sequence_length?:M -> output:T, present?:T',
    { T: F, M: 'int32' },
    'do_rotary:i mask_filter_value:f num_heads:i! past_present_share_buffer:i qkv_hidden_sizes:is rotary_embedding_dim:i scale:f unidirectional:i');
  op('MultiHeadAttention', 1,
    'query:T, key?:T, value?:T, bias?:T, key_padding_mask?:M, attention_bias?:T, past_key?:T, past_value?:T, past_sequence_length?:M, cache_indirection?:M -> output:T, present_key?:T, present_value?:T, qk?:QK',
    { T: F, M: 'int32', QK: F }, 'mask_filter_value:f num_heads:i! scale:f unidirectional:i');
  op('GroupQueryAttention', 1,
    'query:T, key?:T, value?:T, past_key?:T_CACHE, past_value?:T_CACHE, seqlens_k:M, total_sequence_length:M, cos_cache?:T, sin_cache?:T, position_ids?:int64, attention_bias?:T, head_sink?:T, k_scale?:T_KV_SCALE, v_scale?:T_KV_SCALE, q_norm_weight?:T, k_norm_weight?:T -> output:T, present_key?:T_CACHE, present_value?:T_CACHE, output_qk?:T',
    { T: F, T_CACHE: `${F}|uint8|int8|float8e4m3fn`, T_KV_SCALE: 'float', M: 'int32' },
    'causal:i do_rotary:i k_quant_type:s kv_cache_bit_width:i kv_num_heads:i! local_window_size:i num_heads:i! qk_norm_epsilon:f qk_output:i rotary_interleaved:i scale:f sliding_window_cache:i smooth_softmax:i softcap:f v_quant_type:s');
  op('RotaryEmbedding', 1, 'input:T, position_ids:M, cos_cache:T, sin_cache:T -> output:T', { T: F, M: 'int64' },
    'interleaved:i is_packed_batching:i num_heads:i rotary_embedding_dim:i scale:f');
  op('SkipLayerNormalization', 1, 'input:T, skip:T, gamma:T, beta?:T, bias?:T -> output:T, mean?:U, inv_std_var?:U, input_skip_bias_sum?:T',
    { T: 'float|float16|bfloat16', U: 'float' }, 'epsilon:f');
  op('SkipSimplifiedLayerNormalization', 1, 'input:T, skip:T, gamma:T, bias?:T -> output:T, mean?:U, inv_std_var?:U, input_skip_bias_sum?:T',
    { T: 'float|float16|bfloat16', U: 'float' }, 'epsilon:f');
  op('EmbedLayerNormalization', 1,
    'input_ids:T1, segment_ids?:T1, word_embedding:T, position_embedding:T, segment_embedding?:T, gamma:T, beta:T, mask?:T1, position_ids?:T1 -> output:T, mask_index?:T1, embedding_sum?:T',
    { T1: 'int32', T: 'float|float16' }, 'epsilon:f mask_index_type:i');
  op('BiasGelu', 1, 'A:T, B:T -> C:T', { T: 'float|float16|bfloat16|double' });
  op('FastGelu', 1, 'X:T, bias?:T -> Y:T', { T: 'float|float16|bfloat16|double' });
  op('Gelu', 1, 'X:T -> Y:T', { T: 'float|double|float16|bfloat16' });
  op('QuickGelu', 1, 'X:T -> Y:T', { T: 'float|double|float16|bfloat16' }, 'alpha:f');
  op('BiasAdd', 1, 'X:T, bias:T, skip:T -> Y:T', { T: 'float16|float' });
  op('BiasSplitGelu', 1, 'X:T, bias:T -> Y:T', { T: 'float16|float' });
  op('BiasSoftmax', 1, 'data:T, bias:T -> output:T', { T: '$F' }, 'axis:i is_inner_broadcast:i!');
  op('BiasDropout', 1, 'data:T, bias:T, residual?:T, ratio?:T1, training_mode?:T2 -> output:T, mask?:T2',
    { T: 'float16|float|double|bfloat16', T1: 'float16|float|double|bfloat16', T2: 'bool' }, 'seed:i');
  op('FusedMatMul', 1, 'A:T, B:T -> Y:T', { T: 'float|double|float16|bfloat16' }, 'alpha:f transA:i transB:i transBatchA:i transBatchB:i');
  op('TransposeMatMul', 1, 'A:T, B:T -> Y:T', { T: 'float|double|float16|bfloat16' }, 'alpha:f transA:i transB:i');
  op('FusedConv', 1, 'X:T, W:T, B?:T, Z?:T -> Y:T', { T: 'float|float16|double' }, `${CONV} activation:s activation_params:fs`);
  op('FusedGemm', 1, 'A:T, B:T, C?:T -> Y:T', { T: '$N7' },
    'activation:s activation_alpha:f activation_beta:f activation_gamma:f alpha:f beta:f transA:i transB:i');
  op('NhwcConv', 1, 'X:T, W:T, B?:T -> Y:T', { T: '$F' }, CONV);
  op('NhwcFusedConv', 1, 'X:T, W:T, B?:T, Z?:T -> Y:T', { T: 'float16|float' }, `${CONV} activation:s activation_params:fs`);
  op('NhwcMaxPool', 1, 'x:T -> y:T', { T: 'int8|uint8' }, 'auto_pad:s ceil_mode:i dilations:is kernel_shape:is! pads:is strides:is');
  op('GroupNorm', 1, 'X:T, gamma:M, beta:M -> Y:T', { T: 'float16|float', M: 'float16|float' }, 'activation:i! channels_last:i epsilon:f groups:i!');
  op('SkipGroupNorm', 1, 'X:T, gamma:M, beta:M, skip:T, bias?:T -> Y:T, S?:T', { T: 'float16|float', M: 'float16|float' },
    'activation:i! channels_last:i epsilon:f groups:i!');

  // ---- quantization ----
  op('QuantizeLinear', 1, 'x:T1, y_scale:T1, y_zero_point?:T2 -> y:T2', { T1: 'float|float16', T2: 'int8|uint8|int16|uint16|int4|uint4' }, 'axis:i');
  op('DequantizeLinear', 1, 'x:T1, x_scale:T2, x_zero_point?:T1 -> y:T2', { T1: 'int8|uint8|int16|uint16|int32|int4|uint4', T2: 'float|float16' }, 'axis:i');
  op('DynamicQuantizeMatMul', 1, 'A:T1, B:T2, b_scale:T1, b_zero_point?:T2, bias?:T1 -> Y:T1', { T1: 'float', T2: 'int8|uint8' });
  op('MatMulIntegerToFloat', 1, 'A:T1, B:T2, a_scale:T3, b_scale:T3, a_zero_point?:T1, b_zero_point?:T2, bias?:T3 -> Y:T3',
    { T1: 'int8|uint8', T2: 'int8|uint8', T3: 'float|float16' });
  op('MatMulInteger16', 1, 'A:T1, B:T2 -> Y:T3', { T1: 'int16|uint16', T2: 'int16|uint16', T3: 'int32|uint32' });
  op('MatMulNBits', 1, 'A:T1, B:T2, scales:T1, zero_points?:T3, g_idx?:T4, bias?:T1 -> Y:T1',
    { T1: F, T2: 'uint8', T3: 'uint8|float16|float|bfloat16', T4: 'int32' }, 'K:i! N:i! accuracy_level:i bits:i block_size:i! weight_prepacked:i');
  op('MatMulBnb4', 1, 'A:T1, B:T2, absmax:T1 -> Y:T1', { T1: F, T2: 'uint8' }, 'K:i! N:i! block_size:i! quant_type:i! training_mode:i transB:i');
  op('GatherBlockQuantized', 1, 'data:T1, indices:Tind, scales:T2, zero_points?:T1 -> output:T2',
    { T1: 'int4|uint4|uint8', Tind: 'int32|int64', T2: F }, 'bits:i block_size:i gather_axis:i quantize_axis:i');
  op('DynamicQuantizeLSTM', 1,
    'X:T, W:T2, R:T2, B?:T, sequence_lens?:T1, initial_h?:T, initial_c?:T, P?:T, W_scale:T, W_zero_point:T2, R_scale:T, R_zero_point:T2 -> Y?:T, Y_h?:T, Y_c?:T',
    { T: 'float', T1: 'int32', T2: 'uint8|int8' },
    'activation_alpha:fs activation_beta:fs activations:ss clip:f direction:s hidden_size:i input_forget:i');
  const Q = 'uint8|int8';
  op('QLinearAdd', 1, 'A:T, A_scale:float, A_zero_point?:T, B:T, B_scale:float, B_zero_point?:T, C_scale:float, C_zero_point?:T -> C:T', { T: Q });
  op('QLinearMul', 1, 'A:T, A_scale:float, A_zero_point?:T, B:T, B_scale:float, B_zero_point?:T, C_scale:float, C_zero_point?:T -> C:T', { T: Q });
  op('QLinearSigmoid', 1, 'X:T, X_scale:float, X_zero_point?:T, Y_scale:float, Y_zero_point?:T -> Y:T', { T: Q });
  op('QLinearLeakyRelu', 1, 'X:T, X_scale:float, X_zero_point?:T, Y_scale:float, Y_zero_point?:T -> Y:T', { T: Q }, 'alpha:f');
  op('QLinearSoftmax', 1, 'X:T, X_scale:float, x_zero_point?:T, y_scale:float, y_zero_point:T -> Y:T', { T: Q }, 'axis:i opset:i!');
  op('QLinearGlobalAveragePool', 1, 'X:T, x_scale:float, x_zero_point:T, y_scale:float, y_zero_point:T -> Y:T', { T: Q }, 'channels_last:i');
  op('QLinearAveragePool', 1, 'X:T, x_scale:float, x_zero_point?:T, y_scale:float, y_zero_point?:T -> Y:T', { T: Q },
    'auto_pad:s ceil_mode:i channels_last:i count_include_pad:i kernel_shape:is! pads:is strides:is');
  op('QLinearConcat', 1, 'Y_scale:TF, Y_zero_point:T8, inputs*~:TV -> Y:T8', { TF: 'float', T8: Q, TV: `${Q}|float` }, 'axis:i!');
  op('QLinearReduceMean', 1, 'data:T, data_scale:float, data_zero_point?:T, reduced_scale:float, reduced_zero_point?:T -> reduced:T', { T: Q },
    'axes:is! keepdims:i!');
  op('QLinearWhere', 1, 'condition:B, X:T, x_scale:TF, x_zero_point:T, Y:T, y_scale:TF, y_zero_point:T, z_scale:TF, z_zero_point:T -> Z:T',
    { B: 'bool', T: Q, TF: 'float' });
  op('QLinearConv', 1,
    'x:T1, x_scale:float, x_zero_point:T1, w:T2, w_scale:float, w_zero_point:T2, y_scale:float, y_zero_point:T3, B?:T4 -> y:T3',
    { T1: Q, T2: Q, T3: Q, T4: 'int32' }, `${CONV} channels_last:i`);
  op('QGemm', 1, 'A:TA, a_scale:T, a_zero_point:TA, B:TB, b_scale:T, b_zero_point:TB, C?:TC, y_scale?:T, y_zero_point?:TYZ -> Y:TY',
    { T: 'float', TA: Q, TB: Q, TC: 'int32', TYZ: Q, TY: `float|${Q}` }, 'alpha:f transA:i transB:i');
  op('QAttention', 1,
    'input:T1, weight:T2, bias:T3, input_scale:T3, weight_scale:T3, mask_index?:T4, input_zero_point?:T1, weight_zero_point?:T2, past?:T3 -> output:T3, present?:T3',
    { T1: Q, T2: Q, T3: 'float|float16', T4: 'int32' }, 'do_rotary:i mask_filter_value:f num_heads:i! past_present_share_buffer:i scale:f unidirectional:i');

  // ---- other operators ----
  op('Inverse', 1, 'X:T -> Y:T', { T: 'float16|float|double' });
  op('Range', 1, 'start:T, limit:T, delta?:T -> Y:T', { T: 'float|double|int16|int32|int64' });
  op('ExpandDims', 1, 'X:T, axis:int32 -> Y:T', { T: '$A' });
  op('Trilu', 1, 'X:T, k?:int64 -> Y:T', { T: '$N|bool|bfloat16' }, 'upper:i');
  op('Unique', 1, 'x:T -> y:T, idx:int64, counts:int64', { T: '$A' });
  op('GatherND', 1, 'data:T, indices:Tind -> output:T', { T: '$A', Tind: 'int32|int64' });
  op('Pad', 1, 'data:T, pads:int64, value?:T -> output:T', { T: 'float16|float|double' }, 'mode:s');
  op('CDist', 1, 'A:T, B:T -> C:T', { T: 'float|double' }, 'metric:s');
  op('MurmurHash3', 1, 'X:T1 -> Y:T2', { T1: 'uint32|int32|uint64|int64|float|double|string', T2: 'int32|uint32' }, 'positive:i seed:i');
  op('Tokenizer', 1, 'X:T -> Y:T', { T: 'string' }, 'mark:i! mincharnum:i! pad_value:s! separators:ss tokenexp:s');
  op('CropAndResize', 1, 'X:T1, rois:T1, batch_indices:T2, crop_size:T2 -> Y:T1', { T1: 'float|float16|double', T2: 'int32' }, 'extrapolation_value:f mode:s');
  op('GridSample', 1, 'X:T1, Grid:T1 -> Y:T2', { T1: '$A', T2: '$F' }, 'align_corners:i mode:s padding_mode:s');
  op('MaxpoolWithMask', 1, 'X:T, M:int32 -> Y:T', { T: 'float' }, 'auto_pad:s kernel_shape:is pads:is storage_order:i strides:is');
  op('ConvTransposeWithDynamicPads', 1, 'X:T, W:T, Pads?:int64, B?:T -> Y:T', { T: '$F' },
    'auto_pad:s dilations:is group:i kernel_shape:is strides:is output_padding:is');
  op('WordConvEmbedding', 1, 'Sequence:T, W:T1, B:T1, C:T1 -> Y:T1', { T: 'int32', T1: 'float' },
    'char_embedding_size:i conv_window_size:i embedding_size:i');
  op('Rfft', 1, 'X:T -> Y:T', { T: 'float|double|float16' }, 'normalized:i onesided:i signal_ndim:i');
  op('Irfft', 1, 'X:T -> Y:T', { T: 'float|double|float16' }, 'normalized:i onesided:i signal_ndim:i!');
  op('ComplexMul', 1, 'A:T, B:T -> C:T', { T: 'float|float16|double' });
  op('ComplexMulConj', 1, 'A:T, B:T -> C:T', { T: 'float|float16|double' });
  op('NGramRepeatBlock', 1, 'input_ids:Tid, scores:T -> scores_out:T', { Tid: 'int64', T: 'float' }, 'ngram_size:i!');
  op('BifurcationDetector', 1, 'src_tokens:T, cur_tokens:T, prev_suffix_match_idx:T, pred_tokens?:T -> tokens:T, suffix_match_idx:T', { T: 'int64' },
    'max_ngram_size:i min_ngram_size:i');
  op('RelativePositionBias', 1, 'bias_table:T, query_length:U, key_length:U -> output:T', { T: 'float|float16', U: 'int64' }, 'is_bidirectional:i max_distance:i!');
  op('GatedRelativePositionBias', 1, 'query_layer:T, query_bias:T, rel_pos:T, weight:T, bias:T, eco_a:T, token_offset?:M -> output:T',
    { T: 'float|float16', M: 'int32' }, 'num_heads:i!');
  op('DecoderMaskedMultiHeadAttention', 1,
    'query:T, key?:T, value?:T, mask_index?:M, attention_bias?:T, past_key?:T, past_value?:T, past_sequence_length?:M, beam_width?:M, cache_indirection?:M, bias?:T -> output:T, present_key?:T, present_value?:T, qk?:QK',
    { T: 'float|float16', M: 'int32', QK: 'float|float16' },
    'mask_filter_value:f num_heads:i! output_qk:i past_present_share_buffer:i scale:f');
  op('SparseAttention', 1,
    'query:T, key?:T, value?:T, past_key?:T, past_value?:T, block_row_indices:M, block_col_indices:M, total_sequence_length:M, key_total_sequence_lengths:M, cos_cache?:T, sin_cache?:T -> output:T, present_key:T, present_value:T',
    { T: F, M: 'int32' }, 'do_rotary:i kv_num_heads:i! num_heads:i! rotary_interleaved:i scale:f sparse_block_size:i!');
  op('PackedAttention', 1, 'input:T, weights:T, bias:T, token_offset:M, cumulative_sequence_length:M, attention_bias?:T -> output:T',
    { T: 'float|float16', M: 'int32' }, 'num_heads:i! qkv_hidden_sizes:is scale:f');
  op('PackedMultiHeadAttention', 1,
    'query:T, key?:T, value?:T, bias?:T, token_offset:M, cumulative_sequence_length:M, attention_bias?:T -> output:T',
    { T: 'float|float16', M: 'int32' }, 'mask_filter_value:f num_heads:i! scale:f');
  op('RemovePadding', 1, 'input:T, sequence_token_count:M -> output:T, token_offset:M, cumulated_seq_len:M, max_seq_len:M', { T: 'float|float16', M: 'int32' });
  op('RestorePadding', 1, 'input:T, token_offset:M -> output:T', { T: 'float|float16', M: 'int32' });
  op('LongformerAttention', 1, 'input:T, weight:T, bias:T, mask:T, global_weight:T, global_bias:T, global:G -> output:T',
    { T: 'float|float16', G: 'int32' }, 'num_heads:i! window:i!');
  const SEARCH = 'decoder:g! decoder_start_token_id:i encoder:g init_decoder:g eos_token_id:i! model_type:i no_repeat_ngram_size:i pad_token_id:i! vocab_size:i';
  op('GreedySearch', 1,
    'input_ids:I, max_length:I, min_length?:I, repetition_penalty?:T, vocab_mask?:I, prefix_vocab_mask?:I, attention_mask?:I -> sequences:I',
    { T: 'float', I: 'int32' }, SEARCH);
  op('BeamSearch', 1,
    'input_ids:F, max_length:I, min_length?:I, num_beams:I, num_return_sequences:I, length_penalty?:T, repetition_penalty?:T, vocab_mask?:M, prefix_vocab_mask?:M, attention_mask?:I, decoder_input_ids?:I, logits_processor?:I -> sequences:I, sequences_scores?:T, scores?:T',
    { T: 'float|float16', I: 'int32', M: 'int32', F: 'int32|float' }, `${SEARCH} early_stopping:i`);
  return t.schemas;
}
