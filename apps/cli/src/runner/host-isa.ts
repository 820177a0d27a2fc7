import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { quietOnnxruntime } from './create-runner.js';

export interface HostIsa {
  isa: string;
  /** Why: what onnxruntime's integer kernels do on this CPU. */
  reason: string;
}

/** `--isa host`: the isa this machine's CPU calls for, measured by runtime's hostInt8Isa (onnxruntime-node). */
export async function hostIsa(): Promise<HostIsa> {
  try {
    await quietOnnxruntime();
    const { hostInt8Isa } = await import('@onnx-forge/runtime');
    return await hostInt8Isa();
  } catch (e) {
    throw new ForgeError(
      ForgeErrorCode.RUNTIME,
      `--isa host measures this CPU with onnxruntime-node, which could not run: ${errorMessage(e)}; name the isa instead (portable, avx2, avx512, vnni, arm64)`,
      { cause: e },
    );
  }
}
