export { mljsBackend } from './mljs-backend.js';
export type { Backend, BackendFeed, BackendTensor, MljsBackendOptions, MljsModelLike } from './mljs-backend.js';
