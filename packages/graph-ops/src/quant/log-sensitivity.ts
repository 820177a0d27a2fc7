import { isDefaultDomain, type Graph, type NodeProto } from '@onnx-forge/core';

/** Ops that keep a value's magnitude structure, through which a later Log still sees it. */
const PASS_THROUGH = new Set([
  'Clip', 'Relu', 'Max', 'Min', 'Abs', 'Add', 'Sub', 'Mul', 'Div', 'Identity', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze',
  'Flatten', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'Sqrt', 'Pow',
]);

/**
 * Whether the node's output reaches a Log (within a few value-preserving ops), as a mel filterbank
 * applied to a power spectrum does. Activation quantization has a fixed step: values much smaller
 * than the range's maximum become 0 or one step, and a log turns that absolute error into a huge
 * relative one (the openWakeWord melspectrogram falls far below any tolerance with an 8-bit MatMul
 * input; quant/real-models.test.ts holds it to cosine 0.999 with this rule, and the models benchmark
 * records its figure). Such nodes keep float activations; their weights can still be 8-bit.
 */
export function feedsLog(graph: Graph, node: NodeProto, depth = 4): string | undefined {
  const seen = new Set<NodeProto>();
  let frontier = node.output.filter(Boolean);
  for (let d = 0; d < depth && frontier.length; d++) {
    const next: string[] = [];
    for (const name of frontier) {
      for (const reader of graph.consumers(name)) {
        if (seen.has(reader) || !isDefaultDomain(reader.domain)) continue;
        seen.add(reader);
        if (reader.opType === 'Log') return reader.name || `Log(${reader.output[0] ?? ''})`;
        if (PASS_THROUGH.has(reader.opType)) next.push(...reader.output.filter(Boolean));
      }
    }
    frontier = next;
  }
  return undefined;
}
