export { summarize, median, quantile, quantileResolved, overlaps, cosineSimilarity } from './stats.js';
export type { Summary } from './stats.js';
export { peakRssBytes, processCpuMs, reportResult, runIsolated } from './isolate.js';
export type { IsolatedOptions } from './isolate.js';
export { bertModelKey, ensureBertModel, BENCH_CACHE, WORKSPACE_ROOT } from './bert-model.js';
export type { BertModelFile } from './bert-model.js';
export { formatTable, metricTable, metTarget } from './format-table.js';
export type { Metric } from './format-table.js';
export { saveChart, saveResult, targetsLine } from './save-result.js';
export { distributionSvg } from './charts.js';
export type { DistributionChart, Series } from './charts.js';
export { parseBenchOptions } from './bench-options.js';
export type { BenchOptions } from './bench-options.js';

// Measuring core (issue 11).
export { defaultBenchClock, sleep } from './measure/bench-clock.js';
export type { BenchClock } from './measure/bench-clock.js';
export { latencyStats } from './measure/latency-stats.js';
export type { LatencyStats } from './measure/latency-stats.js';
export { measureRuns } from './measure/measure-runs.js';
export type { MeasureRunsOptions, RunTimes } from './measure/measure-runs.js';
export { measureInterleaved } from './measure/measure-interleaved.js';
export type { InterleavedOptions, RunTarget } from './measure/measure-interleaved.js';
export { compareLatency } from './measure/compare-latency.js';
export type { CompareOptions, LatencyComparison, NamedLatency } from './measure/compare-latency.js';
export { concurrencySweep } from './measure/concurrency-sweep.js';
export type { ConcurrentTarget, SweepLevel, SweepOptions, SweepWindow } from './measure/concurrency-sweep.js';
export { poissonArrivals } from './measure/poisson-arrivals.js';
export { singleStream } from './measure/scenario-single-stream.js';
export type { SingleStreamResult } from './measure/scenario-single-stream.js';
export { multiStream } from './measure/scenario-multi-stream.js';
export type { MultiStreamOptions, MultiStreamResult } from './measure/scenario-multi-stream.js';
export { offline } from './measure/scenario-offline.js';
export type { OfflineOptions, OfflineResult } from './measure/scenario-offline.js';
export { serverScenario } from './measure/scenario-server.js';
export type { ServerOptions, ServerResult, ServerTrial } from './measure/scenario-server.js';
export { modelInputs, checkDims } from './measure/model-inputs.js';
export { symbolicDims } from '@onnx-forge/graph-ops';
export type { ModelInputs, ModelInputsOptions } from './measure/model-inputs.js';
export { feedsForSession } from './measure/session-feeds.js';
export { openModel, readModelFile } from './measure/open-model.js';
export type { BenchSource, OpenModelOptions, OpenedModel } from './measure/open-model.js';
export { benchModels } from './measure/bench-models.js';
export type { BenchModelsOptions, BenchModelsResult, BenchProgress, ModelBench, ModelMemory, Scenario } from './measure/bench-models.js';
export { benchIsolated } from './measure/isolated-bench.js';
export { machineInfo } from './measure/machine-info.js';
export type { MachineInfo } from './measure/machine-info.js';
export { stageError } from './measure/stage-error.js';
export type { Stage, StageError } from './measure/stage-error.js';

// Accuracy against a reference.
export { OutputAgreement, cosineToleranceProblem, tensorNumbers } from './accuracy/output-accuracy.js';
export type { OutputAccuracy } from './accuracy/output-accuracy.js';
export { measureAccuracy, summarizeAccuracy } from './accuracy/measure-accuracy.js';
export type { AccuracySummary } from './accuracy/measure-accuracy.js';
export { compareAccuracy, sourceName } from './accuracy/compare-accuracy.js';
export type { CandidateAccuracy, CompareAccuracyOptions, CompareAccuracyResult } from './accuracy/compare-accuracy.js';

// The optimize workflow, the model repository and the reports.
export { optimizeModel } from './optimize/optimize-model.js';
export type { OptimizeOptions, OptimizeProgress } from './optimize/optimize-model.js';
export type { OptimizeResult, VariantResult } from './optimize/optimize-result.js';
export { toManifest } from './optimize/optimize-result.js';
export { chooseVariant, PREFERENCES } from './optimize/choose-variant.js';
export type { Candidate, Choice, Prefer } from './optimize/choose-variant.js';
export { DEFAULT_BUILDERS } from './optimize/make-variant.js';
export type { VariantBuilder, VariantContext } from './optimize/make-variant.js';
export { VARIANT_NAMES, isVariantName, variantPrecision } from './optimize/variant-name.js';
export type { VariantName } from './optimize/variant-name.js';
export { batchAxes, batchDim, batchSweep } from './optimize/batch-sweep.js';
export type { BatchPoint, BatchSweepOptions, BatchSweepResult } from './optimize/batch-sweep.js';
export { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_SCHEMA, MANIFEST_VERSION, TARGETS, VARIANT_STATUSES, validateManifest } from './repository/manifest.js';
export type {
  ManifestAccuracy, ManifestLatency, ManifestOutputAccuracy, ManifestTensor, ManifestVariant, RepositoryManifest, Target, VariantStatus,
} from './repository/manifest.js';
export { VersionStager, listVersions } from './repository/version-stager.js';
export type { StaleStaging } from './repository/stale-staging.js';
export { listRepository, readManifest, variantFile } from './repository/read-repository.js';
export { repositoryBackends } from './repository/repository-backends.js';
export type { RepositoryBackends, RepositoryBackendsOptions } from './repository/repository-backends.js';
export { reportMarkdown } from './report/report-markdown.js';
export { reportHtml, reportCharts } from './report/report-html.js';
export { reportTables, reportSummary } from './report/report-tables.js';
export type { ReportTable } from './report/report-tables.js';
export { writeReports, resultJson } from './report/write-reports.js';
export { barChartSvg, lineChartSvg } from './report/variant-charts.js';
export { formatMs, formatRatio, meanInterval, meanText, medianIntervalText, p50Text, percentileText } from './report/format-latency.js';
export type { Bar, BarChart, LineChart, LinePoint } from './report/variant-charts.js';
export { formatBytes } from '@onnx-forge/core';
