export type { ModelRunner, LoadedModel, RunnerTensor, RunnerFeeds, RunnerDType } from './runner.js';
export { RUNNER_SERVICE } from './runner.js';
export { builtinPasses, createBuiltinRegistry } from './builtin-passes.js';
export * from './cleanup/index.js';
export * from './fp16/index.js';
export * from './opset/index.js';
export * from './quant/index.js';
