export { builtinPasses, builtinPipelines, createBuiltinRegistry } from './builtin-passes.js';
export * from './cleanup/index.js';
export * from './fp16/index.js';
export * from './opset/index.js';
export * from './quant/index.js';
export * from './precision/index.js';
export { seededFeeds } from './samples/seeded-feeds.js';
export type { SeededFeedsOptions } from './samples/seeded-feeds.js';
