export { summarize, median, quantile, overlaps, cosineSimilarity } from './stats.js';
export type { Summary } from './stats.js';
export { peakRssBytes, processCpuMs, reportResult, runIsolated } from './isolate.js';
export type { IsolatedOptions } from './isolate.js';
export { bertModelKey, ensureBertModel, BENCH_CACHE, WORKSPACE_ROOT } from './bert-model.js';
export type { BertModelFile } from './bert-model.js';
