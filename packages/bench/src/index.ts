export { summarize, quantile, overlaps, cosineSimilarity } from './stats.js';
export type { Summary } from './stats.js';
export { peakRssBytes, reportResult, runIsolated } from './isolate.js';
export type { IsolatedOptions } from './isolate.js';
