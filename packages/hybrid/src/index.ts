export type { Backend, BackendOutputs, PredictOptions } from './backend.js';
export { sessionBackend } from './session-backend.js';
export type { SessionBackendOptions } from './session-backend.js';
export { feedsForSession, float32Outputs } from './session-feeds.js';
export { functionBackend } from './function-backend.js';
export type { FunctionBackendOptions, FunctionOutput, PredictFunction } from './function-backend.js';
export { HybridModel } from './hybrid-model.js';
export type { HybridEvents, SwitchEvent, QuarantineEvent, BreakerEvent, RevalidationReport } from './hybrid-events.js';
export type { HybridStats } from './hybrid-stats.js';
export type {
  HybridOptions, Policy, Constraints, CanaryOptions, HedgeOptions, StabilityOptions, StatisticsOptions, MetricsOptions,
} from './hybrid-options.js';
export type { BackendState, BackendStats, AccuracyStats, QuarantineEvidence, Route } from './backend-tracker.js';
export type { SwitchReason } from './choose-backend.js';
export { batched } from './batched.js';
export type { BatchOptions, BatchStats, BatchedBackend } from './batched.js';
export { concatRequests, splitOutputs, stackable } from './tensor-batch.js';
export type { BatchLayout, StackableRequest } from './tensor-batch.js';
export { compareOutputs, DEFAULT_TOLERANCE } from './compare-outputs.js';
export type { AccuracyTolerance, CanaryCheck, OutputComparison } from './compare-outputs.js';
export { CircuitBreaker, DEFAULT_BREAKER } from './circuit-breaker.js';
export type { BreakerOptions, BreakerState, BreakerTransition, WindowCounts } from './circuit-breaker.js';
export { PeakEwma } from './peak-ewma.js';
export { LatencyWindow } from './latency-window.js';
export type { SampleSummary } from './latency-window.js';
// The clocks are runtime's, re-exported so hybrid's users need not import runtime for them.
export { systemClock, ManualClock } from '@onnx-forge/runtime';
export type { Clock, TimerHandle } from '@onnx-forge/runtime';
export { seededRandom } from './seeded-random.js';
export { LATENCY_BUCKETS } from './hybrid-metrics.js';
export { formatSummary, speedup } from './summary-table.js';
