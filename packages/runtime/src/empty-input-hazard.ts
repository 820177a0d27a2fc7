import { ForgeError, ForgeErrorCode, type Model } from '@onnx-forge/core';

/**
 * Operators on which onnxruntime ends the process, rather than failing the run, when a tensor they
 * read is empty. Found by running every model of the ONNX node test suite with each input axis in turn
 * set to 0 (onnxruntime-node 1.30, CPU): an LSTM over a batch of 0 and a GRU over a batch or a sequence
 * of 0 end in std::terminate ("terminate called without an active exception"), and so does Unique
 * along an empty axis; ConvTranspose, InstanceNormalization and RoiAlign over an empty spatial axis
 * crash (SIGSEGV), DFT over an empty signal divides by zero (SIGFPE). In onnxruntime-web an LSTM or GRU
 * aborts the WebAssembly instance, and every session of the page is dead after it. DynamicQuantizeLSTM
 * runs the LSTM kernel. An empty batch does not crash the last four, but an empty feed is refused
 * whole: which axis reaches the node is not known before the graph runs. Each is checked against a
 * bare onnxruntime in empty-input-hazard.test.ts.
 */
export const ABORTS_ON_EMPTY: ReadonlySet<string> = new Set(['LSTM', 'GRU', 'DynamicQuantizeLSTM', 'Unique', 'ConvTranspose', 'InstanceNormalization', 'RoiAlign', 'DFT']);

/** A node of the model (subgraphs included) that an empty tensor must not reach. */
export interface EmptyInputHazard {
  readonly op: string;
  readonly node: string;
}

/** The first node of a model already open (subgraphs included) on which onnxruntime aborts when an empty tensor reaches it. */
export function emptyInputHazardIn(model: Model): EmptyInputHazard | undefined {
  for (const { node } of model.allNodes()) {
    if (ABORTS_ON_EMPTY.has(node.opType)) return { op: node.opType, node: node.name || '(unnamed)' };
  }
  return undefined;
}

/** Why an empty tensor is refused, as the end of a sentence: "it runs an LSTM (node 'x'), and ...". */
export function emptyInputReason(hazard: EmptyInputHazard): string {
  const article = hazard.op === 'LSTM' || hazard.op === 'InstanceNormalization' ? 'an' : 'a';
  return `it runs ${article} ${hazard.op} (node '${hazard.node}'), and onnxruntime aborts the whole process on an empty tensor there instead of failing the run`;
}

/** FORGE_BAD_INPUT for an empty feed to a model with such a node. */
export function emptyInputError(input: string, dims: readonly number[], hazard: EmptyInputHazard): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_INPUT, `input '${input}' is empty (dims [${dims.join(', ')}]), which this model cannot take: ${emptyInputReason(hazard)}`, {
    details: { input, got: [...dims], op: hazard.op, node: hazard.node },
  });
}
