export { createSession } from './create-session.js';
export { CREATE_OPTION_KEYS } from './create-session-options.js';
export { registerBackend, resolveBackend, backendStatus, forgetBackendState } from './backend-registry.js';
export type { BackendState } from './backend-registry.js';
export { systemClock, isClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { ManualClock } from './manual-clock.js';
export { configureWebBackend } from './web-backend.js';
export type { WebBackendConfig } from './web-backend.js';
export type { NodeBackendOptions } from './node-backend.js';
export type { CreateSessionOptions, SessionAcquirer } from './create-session-options.js';
export { createPool, PoolSession } from './worker-pool.js';
export type { PoolStats } from './worker-pool.js';
export type { PoolOptions } from './pool-options.js';
export type { PoolWorker } from './worker-slot.js';
export { locateWorker } from './locate-worker.js';
export type { WorkerLocation } from './locate-worker.js';
export { SessionCache, defaultSessionCache } from './session-cache.js';
export type { SessionCacheStats, SessionFactory } from './session-cache.js';
export { validateSessionOptions, SESSION_OPTION_KEYS } from './session-options.js';
export type { SessionOptions, ValidatedSessionOptions, OrtSessionOptions } from './session-options.js';
export { precisionOrder } from './precision.js';
export type { PrecisionChoice, PrecisionPolicy, Int8Fit } from './precision.js';
export { cpuInfo, classifyCpu } from './cpu-info.js';
export type { CpuInfo, CpuIsa } from './cpu-info.js';
export { probeInt8Arithmetic, hostInt8Isa } from './int8-arithmetic.js';
export type { Int8Arithmetic, Int8ArithmeticProbe, HostInt8Isa } from './int8-arithmetic.js';
export { int8Fit, saturationSafeOf } from './int8-fit.js';
export { isModelVariants, modelKey, applyFreeDimensionOverrides } from './model-source.js';
export type { ModelSource, ModelVariants } from './model-source.js';
export { toValueInfo } from './backend.js';
export type { RuntimeBackend, BackendSession, BackendOptions, BackendFactory, BackendLoader, ProviderFeatures } from './backend.js';
export { providerName } from './provider-config.js';
export type { ProviderConfig } from './provider-config.js';
export { initProviderOnce, providerStatus, forgetProviderState } from './provider-init.js';
export type { InitOutcome } from './provider-init.js';
export { prepareFeeds, checkOutputNames } from './feeds.js';
export { ABORTS_ON_EMPTY, emptyInputHazardIn, emptyInputReason } from './empty-input-hazard.js';
export { findEmptyInputHazard, findModelHazards } from './model-hazards.js';
export type { ModelHazards } from './model-hazards.js';
export { MAX_TREE_LEVELS, treeDepthHazardIn, treeDepthError } from './tree-depth-hazard.js';
export type { DeepTree } from './tree-depth-hazard.js';
export type { EmptyInputHazard } from './empty-input-hazard.js';
export {
  toFloat16, fromFloat16, isFloat16Array, toInt64, fromInt64, tensorFromArray, zerosTensor, elementTypeOfArray, arrayCtorFor, ELEMENT_TYPES,
} from './tensor.js';
export { Emitter } from './emitter.js';
export { OrtRunner, sessionRunner } from './ort-runner.js';
export { setOnnxruntimeLogLevel } from './ort-logging.js';
export type { OrtLogLevel } from './ort-logging.js';
export type { OrtRunnerOptions } from './ort-runner.js';
export type {
  ElementType, TensorLike, OutputTensor, FeedValue, Feeds, Outputs, ValueInfo, BackendName, BackendSkip, SkipPhase, ProviderSkip, Precision,
  RunOptions, RunTiming, ReadyInfo, WorkerExitInfo, SessionEvents, SessionEventName, SessionEvent, Session,
} from './types.js';
