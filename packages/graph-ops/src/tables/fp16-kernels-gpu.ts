/**
 * float16 kernels of onnxruntime's GPU execution providers, transcribed from their documented kernel
 * registrations, not probed: the build machine has no GPU. Re-check them when onnxruntime is upgraded.
 *
 * - cuda: onnxruntime docs/OperatorKernels.md, "Operators implemented by CUDAExecutionProvider"
 *   (generated from the registered kernels): an op is listed when tensor(float16) is among the types of
 *   its main type variable, from the opset given after `@` (default: every opset).
 * - webgpu: onnxruntime/core/providers/webgpu/webgpu_execution_provider.cc, whose float kernels are
 *   registered for WebGpuSupportedFloatTypes() (float and float16). Ops registered for float only
 *   (Range, Einsum) are left out. A WebGPU adapter runs them in float16 only when it offers the
 *   `shader-f16` feature. Without it onnxruntime-web still creates a float16 session, but its float16
 *   shaders fail to compile and every run answers zeros (reported only on the console), so the
 *   runtime's web backend refuses such a model there and its provider chain falls back
 *   (core's firstFloat16Compute). That file is the C++ provider (`onnxruntime-web/webgpu`); the
 *   default onnxruntime-web build has JSEP, whose kernels for the builder's models were checked in
 *   Chromium by webgpu-targets.browser.test.ts: the fp16 models made for webgpu load on an adapter
 *   without shader-f16 (not run), and onnxruntime places every node as in float32.
 *
 * Entries are `Op` (default domain) or `domain.Op`, optionally `@since`.
 */
export interface DocumentedKernels {
  source: string;
  /** op key → first opset with a float16 kernel (1 when every opset has one). */
  ops: ReadonlyMap<string, number>;
}

function parse(list: string): ReadonlyMap<string, number> {
  const m = new Map<string, number>();
  for (const entry of list.split(/\s+/).filter(Boolean)) {
    const [op, since] = entry.split('@');
    m.set(op as string, since ? Number(since) : 1);
  }
  return m;
}

const CUDA = `
  Abs Add Affine ArgMax ArgMin Attention@23 AveragePool BatchNormalization Cast Ceil Clip@12 Compress Concat
  ConstantOfShape Conv ConvTranspose Cos CumSum@14 DepthToSpace DequantizeLinear@19 Div Dropout Einsum Elu
  Equal@11 Erf Exp Expand Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm GlobalAveragePool
  GlobalMaxPool Greater GreaterOrEqual HardSigmoid HardSwish Identity InstanceNormalization IsInf@20 IsNaN
  LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax MatMul Max MaxPool Min Mod Mul Neg
  NonZero OneHot PRelu Pad Pow QuantizeLinear@19 RMSNormalization@23 RNN RandomNormal RandomNormalLike
  RandomUniform RandomUniformLike Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax
  ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence Round Scatter
  ScatterElements ScatterND Selu Shrink Sigmoid Sign Sin Slice Softmax Softplus Softsign SpaceToDepth Split
  Sqrt Squeeze Sub Sum Tanh ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where
  com.microsoft.Attention com.microsoft.BiasAdd com.microsoft.BiasDropout com.microsoft.BiasGelu
  com.microsoft.BiasSoftmax com.microsoft.BiasSplitGelu com.microsoft.EmbedLayerNormalization
  com.microsoft.FastGelu com.microsoft.FusedMatMul com.microsoft.Gelu com.microsoft.GroupNorm
  com.microsoft.MultiHeadAttention com.microsoft.QuickGelu com.microsoft.RotaryEmbedding
  com.microsoft.SkipGroupNorm com.microsoft.SkipLayerNormalization com.microsoft.SkipSimplifiedLayerNormalization
  com.microsoft.SimplifiedLayerNormalization com.microsoft.TransposeMatMul com.microsoft.Trilu
`;

const WEBGPU = `
  Abs Neg Floor Ceil Reciprocal Sqrt Exp Erf Sigmoid HardSigmoid Log Sin Cos Tan Asin Acos Atan Sinh Cosh
  Asinh Acosh Atanh Tanh Cast Clip@11 Elu Relu LeakyRelu ThresholdedRelu Gelu ReduceMax ReduceMean ReduceMin
  ReduceProd ReduceSum ReduceL1 ReduceL2 ReduceLogSum ReduceSumSquare ReduceLogSumExp Add Sub Mul Div Pow
  Equal Greater GreaterOrEqual Less LessOrEqual Reshape Squeeze Unsqueeze Where Transpose DepthToSpace Conv
  ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool Gemm MatMul ArgMax ArgMin Softmax Concat
  Split Expand Resize Gather GatherElements Slice Flatten Tile LayerNormalization@17 InstanceNormalization Pad
  BatchNormalization CumSum Identity
  com.microsoft.BiasSplitGelu com.microsoft.MatMulNBits
`;

export const GPU_FP16_KERNELS: Record<'webgpu' | 'cuda', DocumentedKernels> = {
  webgpu: { source: 'onnxruntime WebGPU EP kernel registrations (documented, not probed; needs shader-f16)', ops: parse(WEBGPU) },
  cuda: { source: 'onnxruntime docs/OperatorKernels.md, CUDA EP (documented, not probed)', ops: parse(CUDA) },
};
