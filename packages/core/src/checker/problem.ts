/** Stable codes of the problems the checker reports. */
export const CheckCode = {
  NO_GRAPH: 'CHECK_NO_GRAPH',
  IR_VERSION: 'CHECK_IR_VERSION',
  MISSING_OPSET: 'CHECK_MISSING_OPSET',
  NOT_TOPOLOGICAL: 'CHECK_NOT_TOPOLOGICAL',
  CYCLE: 'CHECK_CYCLE',
  UNDEFINED_INPUT: 'CHECK_UNDEFINED_INPUT',
  UNDEFINED_OUTPUT: 'CHECK_UNDEFINED_OUTPUT',
  DUPLICATE_DEFINITION: 'CHECK_DUPLICATE_DEFINITION',
  DUPLICATE_INITIALIZER: 'CHECK_DUPLICATE_INITIALIZER',
  /** Two nodes of one graph with the same name (onnxruntime refuses the model). */
  DUPLICATE_NODE_NAME: 'CHECK_DUPLICATE_NODE_NAME',
  ATTRIBUTE_TYPE: 'CHECK_ATTRIBUTE_TYPE',
  MISSING_ATTRIBUTE: 'CHECK_MISSING_ATTRIBUTE',
  TENSOR_DATA: 'CHECK_TENSOR_DATA',
  UNKNOWN_DTYPE: 'CHECK_UNKNOWN_DTYPE',
  TYPE_MISMATCH: 'CHECK_TYPE_MISMATCH',
  ARITY: 'CHECK_ARITY',
  EMPTY_OP_TYPE: 'CHECK_EMPTY_OP_TYPE',
  /** An operator the schema table does not know (a warning: its types go unchecked). */
  UNKNOWN_OP: 'CHECK_UNKNOWN_OP',
  /** An operator removed from the imported opset (onnxruntime refuses it). */
  DEPRECATED_OP: 'CHECK_DEPRECATED_OP',
} as const;
export type CheckCode = (typeof CheckCode)[keyof typeof CheckCode];

export interface CheckProblem {
  code: CheckCode;
  severity: 'error' | 'warning';
  message: string;
  /** Graph path, e.g. `main` or `main/If_0.then_branch`. */
  graph: string;
  /** Node name (or `OpType(first output)` when unnamed). */
  node?: string;
  opType?: string;
  /** The value the problem is about. */
  value?: string;
}

export interface CheckResult {
  ok: boolean;
  problems: CheckProblem[];
}
