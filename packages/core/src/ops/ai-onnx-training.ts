import type { OpSchema } from './op-schema.js';
import { SchemaTable } from './schema-table.js';

/** The ai.onnx.preview.training operators (optimizers and Gradient), opset 1. */
export function aiOnnxTrainingSchemas(): OpSchema[] {
  const t = new SchemaTable('ai.onnx.preview.training');
  const op = t.op.bind(t);
  const types = { T1: 'float|double', T2: 'int64', T3: 'float|double' };
  op('Adagrad', 1, 'R:T1, T:T2, inputs*~:T3 -> outputs*~:T3', types, 'decay_factor:f epsilon:f norm_coefficient:f');
  op('Adam', 1, 'R:T1, T:T2, inputs*~:T3 -> outputs*~:T3', types, 'alpha:f beta:f epsilon:f norm_coefficient:f norm_coefficient_post:f');
  op('Momentum', 1, 'R:T1, T:T2, inputs*~:T3 -> outputs*~:T3', types, 'alpha:f! beta:f! mode:s! norm_coefficient:f!');
  op('Gradient', 1, 'Inputs*~:T1 -> Outputs*~:T2', { T1: '$AB', T2: '$F' }, 'xs:ss! y:s! zs:ss');
  return t.schemas;
}
