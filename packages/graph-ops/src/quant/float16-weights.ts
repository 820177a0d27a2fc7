import { DataType, attrInt, type Model, type NodeProto } from '@onnx-forge/core';
import { findConstant } from './quant-graph.js';

/** Weights a quantizing pass found in float16 where it wants float32: the model was converted already. */
export interface Float16Weights {
  /** Nodes the options select whose weight is a float16 or bfloat16 constant. */
  nodes: number;
  opTypes: string[];
  /** Of those, weights stored in float16 and cast to float32 for a float32 op (fp16's weight storage). */
  castToFloat: number;
}

const HALF_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT16, DataType.BFLOAT16]);

/**
 * The selected nodes whose weight input (`weightInput[opType]`) is a float16/bfloat16 constant, read
 * as is (a model computing in float16) or through a Cast to float32 (a model storing its weights in
 * float16); undefined when there is none. The INT8 and int4 passes quantize float32 weights only, so
 * on such a model they find nothing; this tells the user why instead of "no float32 weight".
 */
export function float16Weights(model: Model, weightInput: Readonly<Record<string, number>>, selected: (node: NodeProto) => boolean): Float16Weights | undefined {
  let nodes = 0;
  let castToFloat = 0;
  const opTypes = new Set<string>();
  for (const { graph, node } of model.allNodes()) {
    const index = weightInput[node.opType];
    if (index === undefined || graph.isFunction || !selected(node)) continue;
    const name = node.input[index] ?? '';
    let half = HALF_TYPES.has(findConstant(graph, name)?.tensor.dataType ?? DataType.UNDEFINED);
    if (!half) {
      const cast = graph.producer(name);
      half = cast?.opType === 'Cast' && attrInt(cast, 'to') === DataType.FLOAT && HALF_TYPES.has(findConstant(graph, cast.input[0] ?? '')?.tensor.dataType ?? DataType.UNDEFINED);
      if (half) castToFloat++;
    }
    if (!half) continue;
    nodes++;
    opTypes.add(node.opType);
  }
  return nodes ? { nodes, opTypes: [...opTypes], castToFloat } : undefined;
}

/**
 * The warning for weights found in float16: "nothing to quantize" when no float32 weight is left,
 * else (`partly`) that these stay unquantized; both say why and what to do.
 */
export function float16WeightsMessage(pass: string, f: Float16Weights, partly = false): string {
  const how = f.castToFloat === f.nodes
    ? 'stored in float16 and cast to float32 where used'
    : f.castToFloat
      ? `${f.castToFloat} stored in float16 and cast to float32 where used, ${f.nodes - f.castToFloat} used as float16`
      : 'used as float16';
  const what = `${f.nodes} ${f.opTypes.join('/')} weight${f.nodes === 1 ? '' : 's'}, ${how}`;
  if (partly) {
    return (
      `${pass}: ${what}: these are float16 and are not quantized, as quantization starts from float32 weights ` +
      '(the model was partly converted to float16 already). Quantize the float32 model it was converted from to cover them'
    );
  }
  return (
    `${pass}: nothing to quantize: the model's weights are float16, not float32 (${what}): ` +
    'the model was converted to float16 already, and quantization starts from float32 weights. Quantize the float32 model it was converted from, ' +
    'or convert its weights back to float32 first; the model is unchanged'
  );
}
