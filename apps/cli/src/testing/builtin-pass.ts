import { builtinPasses } from '@onnx-forge/graph-ops';

/** Whether graph-ops registers a pass of this name (suites that need one skip while it is absent). */
export function isBuiltinPass(name: string): boolean {
  return builtinPasses.some((f) => f.passName === name);
}
