/**
 * The statistics of timing samples, as `@onnx-forge/bench/stats`, for code that measures in a browser
 * (the demo server's page): percentiles, the median's 95 % interval, and the mean with its margin of
 * error, the same functions the CLI and the reports use. The package's index reaches Node built-ins
 * (files, worker processes); this entry reaches none: stats.ts and latency-stats.ts import only each
 * other and core (for cosineSimilarity), which runs in browsers. Write the figures with
 * `@onnx-forge/bench/format` (p50Text, meanText).
 */
export { summarize, quantile, quantileResolved, median, overlaps, isBelow } from './stats.js';
export type { Summary } from './stats.js';
export { latencyStats } from './measure/latency-stats.js';
export type { LatencyStats } from './measure/latency-stats.js';
