import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';

/*
 * Plain onnxruntime sessions, for tests that judge a model by onnxruntime itself rather than through
 * the runtime's sessions: onnxruntime-node on the CPU with one intra-op thread, or onnxruntime-web's
 * wasm backend in Node, single-threaded (so no worker files are needed).
 */
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.logLevel = 'error';

export type OrtBackend = 'node' | 'web';
export const ORT_BACKENDS: readonly OrtBackend[] = ['node', 'web'];

/** Either build's module, typed as onnxruntime-node's (both offer onnxruntime-common's API). */
export type OrtModule = typeof ortNode;
const ORT: Record<OrtBackend, OrtModule> = { node: ortNode, web: ortWeb as unknown as OrtModule };

/** A session and the module that made it (its `Tensor` class makes the feeds). */
export interface OrtSession {
  readonly ort: OrtModule;
  readonly session: ortNode.InferenceSession;
}

/** A session of the model's bytes on one backend, quiet but for errors. */
export async function openOrtSession(backend: OrtBackend, bytes: Uint8Array): Promise<OrtSession> {
  const ort = ORT[backend];
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [backend === 'node' ? 'cpu' : 'wasm'],
    logSeverityLevel: 3,
    ...(backend === 'node' ? { intraOpNumThreads: 1 } : {}),
  });
  return { ort, session };
}
