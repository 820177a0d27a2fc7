import { ForgeError, ForgeErrorCode, errorMessage, type ModelRunner } from '@onnx-forge/core';

/**
 * Session options of every onnxruntime session the CLI creates. Level 4 (fatal only): at 3 (errors),
 * onnxruntime still prints "[E:onnxruntime:, sequential_executor.cc ...]" lines for a failed run,
 * around the CLI's own one-line error, although the same text reaches the CLI in the rejection.
 * Only the CPU provider: onnxruntime-node's WebGPU provider starts Dawn, which prints "Couldn't load
 * Vulkan" (and other adapter warnings) on any machine without a GPU stack, whatever the log level.
 */
export const QUIET_SESSION = { logSeverityLevel: 4, providers: ['cpu'] } as const;

/**
 * onnxruntime's process-wide log level (its environment logger, created with the first session):
 * set before any session exists, for the same reason as QUIET_SESSION.
 */
export async function quietOnnxruntime(): Promise<void> {
  const { setOnnxruntimeLogLevel } = await import('@onnx-forge/runtime');
  await setOnnxruntimeLogLevel('fatal');
}

/**
 * The model runner of commands that execute models (verification, calibration, fp16-auto and
 * int8-auto searches): runtime's OrtRunner on onnxruntime-node, CPU. Imported on use, so commands
 * that never run a model never load onnxruntime.
 */
export async function createRunner(): Promise<ModelRunner> {
  try {
    await quietOnnxruntime();
    const { OrtRunner } = await import('@onnx-forge/runtime');
    return new OrtRunner({ sessionOptions: { ...QUIET_SESSION, providers: [...QUIET_SESSION.providers] } });
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.RUNTIME, `onnxruntime-node could not be loaded, and this command runs models: ${errorMessage(e)}; install it with npm install onnxruntime-node`, { cause: e });
  }
}
