import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { BackendLoader } from './backend.js';

/**
 * The backends that ship with the runtime, registered in every process. Each loader imports its module
 * only when called, so a browser never loads onnxruntime-node nor the Node built-ins it needs. In
 * Node both start and `node` (native, priority 20) wins; in a browser `node` fails at once and `web`
 * (WebAssembly, WebGPU, WebNN; priority 10) is chosen.
 */

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

const loadNode: BackendLoader = async () => {
  if (!isNode) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, "backend 'node' needs Node.js; use backend 'web' in a browser", { details: { option: 'backend' } });
  const { loadNodeBackend } = await import('./node-backend.js');
  return loadNodeBackend();
};

const loadWeb: BackendLoader = async () => {
  const { loadWebBackend } = await import('./web-backend.js');
  return loadWebBackend();
};

export const BUILTIN_BACKENDS: readonly { readonly name: string; readonly loader: BackendLoader; readonly priority: number }[] = [
  { name: 'node', loader: loadNode, priority: 20 },
  { name: 'web', loader: loadWeb, priority: 10 },
];
