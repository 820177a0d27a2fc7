export { ForgeError, ForgeErrorCode, isForgeError, nullThrows, errorMessage } from './errors.js';
export type { ForgeErrorOptions } from './errors.js';
export { onAbort, cancelledError } from './abort.js';
export { MAX_TIMER_MS, timerProblem } from './timer-limit.js';
export { ExitCode, exitCodeOfError, isInvalidModelCode } from './exit-codes.js';

export { DataType, dtypeName, dataTypeFromName, dtypeBits, isFloatType, isKnownDataType, rawByteLength, typedArrayCtor } from './dtype.js';
export type { DTypeName, TypedArray } from './dtype.js';

export { decodeModel, encodeModel, encodeModelChunks, encodeModelParts, decodeTensor, encodeTensor, PROTOBUF_LIMIT } from './codec/codec.js';
export type { DecodeOptions } from './codec/codec.js';
export type { EncodedPart, DeferredBytes } from './codec/chunk-writer.js';
export { readModel, writeModel, uncreatableFile } from './io/model-io.js';
export { openModel } from './io/open-model.js';
export type { OpenModelOptions } from './io/open-model.js';
export { memorySource } from './io/byte-source.js';
export type { ByteSource } from './io/byte-source.js';
export { fileSource, notAFile, unreadableFile } from './io/file-source.js';
export { blobSource } from './io/blob-source.js';
export type { BlobLike } from './io/blob-source.js';
export { folderResolver, linkProblem, locationProblem, modelFolderRoots } from './io/external-data.js';
export { externalLocations } from './io/external-data.js';
export type { ExternalDataResolver } from './io/external-data.js';
export { isLazy, deferTensorData, snapshotTensor } from './ir/tensor-data.js';
export { deriveTensorData, derivedTensor } from './ir/derive-tensor-data.js';
export { lentView, withScratch } from './ir/scratch-pool.js';
export { withTensorBytes, withTensorFloat32 } from './ir/scratch.js';
export type { Computed, Derive } from './ir/derive-tensor-data.js';
export { modelTensors, modelWeightBytes } from './ir/model-tensors.js';
export type { ReadModelOptions, WriteModelOptions, WriteModelResult, ExternalDataOptions } from './io/model-io.js';

export { onnx } from './proto/onnx.generated.js';
export type * from './proto/types.js';

export { Model, createNode, isDefaultDomain } from './ir/model.js';
export type { NodeOptions } from './ir/model.js';
export { Graph, tensorType } from './ir/graph.js';
export { defineAnalysis } from './ir/analysis.js';
export type { AnalysisKey } from './ir/analysis.js';
export type { GraphKind, Use } from './ir/graph.js';
export {
  attr, toAttribute, getAttribute, hasAttribute, attrInt, attrFloat, attrString, attrInts, attrFloats, attrStrings,
  attrTensor, setAttribute, removeAttribute, nodeSubgraphs, attributeValue, AttributeType,
} from './ir/attributes.js';
export type { AttrValue } from './ir/attributes.js';
export { toNumber, toClampedNumber, toBigInt, fromBigInt } from './ir/int64.js';
export { declaredDim, declaredDims } from './ir/declared-dims.js';
export {
  tensorDims, elementCount, tensorElementCount, tensorByteSize, tensorRawBytes, tensorToArray, tensorToFloat32,
  tensorToInts, createTensor, replaceTensorData, scalarTensor, isExternal,
} from './ir/tensor.js';
export type { TensorData } from './ir/tensor.js';

export {
  float32ToFloat16Bits, float16BitsToFloat32, float32ToBfloat16Bits, bfloat16BitsToFloat32, float32ArrayToFloat16,
  float16ArrayToFloat32, FLOAT16_MAX, FLOAT16_MIN_NORMAL, FLOAT16_MIN_SUBNORMAL,
} from './numeric/float16.js';
export { cosineSimilarity } from './numeric/cosine-similarity.js';
export { argmaxRows } from './numeric/argmax-rows.js';

export { ModelBuilder, GraphBuilder, irVersionForOpset } from './builder/model-builder.js';
export type { ModelBuilderOptions, OpOptions, Dim, DTypeLike } from './builder/model-builder.js';
export { Rng } from './builder/random.js';
export { transformerEncoder, cnn, mlp, BERT_BASE } from './builder/zoo.js';
export type { TransformerEncoderOptions, CnnOptions, MlpOptions } from './builder/zoo.js';
export { transformerDecoder, DECODER_DEFAULTS } from './builder/decoder.js';
export type { TransformerDecoderOptions } from './builder/decoder.js';

export { checkModel } from './checker/checker.js';
export type { CheckOptions } from './checker/checker.js';
export { CheckCode } from './checker/problem.js';
export type { CheckProblem, CheckResult } from './checker/problem.js';
export { renameDuplicateNodes } from './ir/rename-duplicate-nodes.js';
export type { NodeRename } from './ir/rename-duplicate-nodes.js';

export { definePass } from './pass/define-pass.js';
export { repairInput } from './pass/repair-input.js';
export type { PassSpec, PassFactory, AnyPassFactory, PassInstance, OptionSpec, OptionSpecs, OptionType } from './pass/define-pass.js';
export type { PassContext, NodeDecision, PassRecord, PassContextOptions } from './pass/pass-context.js';
export { createPassContext, mapDecisions } from './pass/pass-context.js';
export type { PassEvent, PassProgress } from './pass/pass-events.js';
export { nodeLabel } from './ir/node-label.js';
export { PassManager } from './pass/pass-manager.js';
export type { PassManagerOptions, PassReport, PipelineReport } from './pass/pass-manager.js';
export { INPUT_STAGE } from './pass/pass-manager.js';
export { PassRegistry } from './pass/pass-registry.js';
export { definePipeline, isNamedPipeline } from './pass/define-pipeline.js';
export type { NamedPipeline } from './pass/define-pipeline.js';
export { runPass } from './pass/run-pass.js';
export type { RunPassOptions } from './pass/run-pass.js';
export { defineService, RUNNER, SAMPLES } from './pass/service.js';
export type { ServiceKey, Services } from './pass/service.js';
export type { ModelRunner, ModelFile, LoadedModel, RunnerTensor, RunnerFeeds, RunnerDType, SampleSource } from './pass/model-runner.js';
export { loadForRun, hasLazyTensors } from './pass/load-for-run.js';
export { parsePipeline, formatPipeline } from './pass/pipeline.js';
export type { PipelineStep } from './pass/pipeline.js';

export { inferElemTypes, ELEM_TYPES, formatValueType, sameValueType, tensorElemType, valueTypeOf } from './infer/index.js';
export type { ElemTypes, UnknownType, ValueType } from './infer/index.js';
export { firstFloat16Compute, firstJsepMiscompute } from './infer/index.js';
export type { Float16Compute, JsepMiscompute } from './infer/index.js';
export * from './kernels/index.js';

export { getOpSchema, knownOps, knownDomains, opSchemaVersions, canonicalDomain, expandTypes } from './ops/index.js';
export type { OpSchema, FormalParam, AttrSpec, TypeContainer } from './ops/index.js';
export { formatBytes } from './format-bytes.js';
export { escapeRegExp } from './escape-reg-exp.js';
