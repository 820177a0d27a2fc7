export { mljsBackend } from './mljs-backend.js';
export type { Backend, BackendTensor, MljsBackendOptions, MljsModelLike } from './mljs-backend.js';
