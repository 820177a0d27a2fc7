import type { ProviderFeatures } from './backend.js';
import type { Precision } from './types.js';

/**
 * Which precision variant to load on a provider, in order of preference, each with the reason. fp16
 * goes first only where the provider computes in fp16 natively (CUDA, TensorRT, WebGPU with
 * shader-f16): on CPU and WebAssembly onnxruntime lacks fp16 kernels for many ops and inserts Casts
 * at load time (onnxruntime #25824, #10919), so fp16 there is slower than fp32, not faster. int8 goes
 * after fp32 on GPUs (ConvInteger has no CUDA kernel, #5127, so integer ops fall back to the CPU).
 */

export interface PrecisionChoice {
  readonly precision: Precision;
  readonly reason: string;
}

/**
 * What decides whether an int8 variant stays accurate on this CPU: how onnxruntime's kernels sum
 * u8 x s8 products here (probeInt8Arithmetic), and whether the variant's int8 weights keep every
 * pair of products within int16 (onnx-forge writes `onnx-forge.int8.saturation-safe` when it
 * quantizes; undefined for models quantized elsewhere).
 */
export interface Int8Fit {
  readonly arithmetic: 'exact' | 'saturating';
  readonly saturationSafe: boolean | undefined;
}

export interface PrecisionPolicy {
  /** 'accuracy' (default) keeps fp32 ahead of int8 on CPU/wasm; 'speed' puts int8 first there. */
  readonly prefer?: 'accuracy' | 'speed';
  /** Overrides what the backend reports, e.g. { shaderF16: true } for onnxruntime-node's WebGPU. */
  readonly capabilities?: { readonly shaderF16?: boolean };
}

const GPU_FP16 = new Set(['cuda', 'tensorrt', 'dml', 'coreml']);

/** The variants to try on `provider`, best first (only those in `available`). */
export function precisionOrder(provider: string, available: readonly Precision[], features: ProviderFeatures, policy: PrecisionPolicy = {}, int8?: Int8Fit): PrecisionChoice[] {
  const has = (p: Precision) => available.includes(p);
  let fp16Native: boolean | undefined = features.fp16Native;
  if (provider === 'webgpu' && policy.capabilities?.shaderF16 !== undefined) fp16Native = policy.capabilities.shaderF16;
  if (GPU_FP16.has(provider)) fp16Native = true;

  const out: PrecisionChoice[] = [];
  // The first variant gets the reason it is preferred; later ones are fallbacks for when it fails to load.
  const push = (p: Precision, reason: string) => {
    if (!has(p) || out.some((c) => c.precision === p)) return;
    const fallback = out.length > 0 ? `fallback after ${out.map((c) => c.precision).join(', ')} did not load: ` : '';
    out.push({ precision: p, reason: fallback + reason });
  };

  if (fp16Native) {
    push('fp16', `${provider} runs fp16 natively${features.note ? ` (${features.note})` : ''}: half the memory traffic of fp32`);
    push('fp32', `${has('fp16') ? '' : 'no fp16 variant; '}fp32 is the reference precision`);
    push('int8', `int8 on ${provider} may fall back to the CPU for integer ops (ConvInteger has no CUDA kernel, onnxruntime #5127)`);
    return out;
  }
  const whyNotFp16 =
    provider === 'webgpu'
      ? fp16Native === false
        ? 'the WebGPU adapter lacks shader-f16'
        : `shader-f16 support is unknown${features.note ? ` (${features.note})` : ''}`
      : `${provider} has no native fp16 kernels for most ops (onnxruntime inserts Casts: #25824, #10919)`;
  const gpu = provider === 'webgpu' || provider === 'webnn' || provider === 'webgl';
  // A full-range int8 variant on a CPU whose kernels saturate u8 x s8 pairs answers wrongly at full
  // speed: it goes last, whatever the policy.
  const int8Wrong = int8?.arithmetic === 'saturating' && int8.saturationSafe === false;
  const int8Note = describeInt8Fit(int8);
  if (int8Wrong) {
    push('fp32', `fp32 is the reference precision; not fp16: ${whyNotFp16}; not int8: ${int8Note}`);
    push('fp16', `fp16 runs, but ${whyNotFp16}`);
    push('int8', int8Note);
    return out;
  }
  if (policy.prefer === 'speed' && !gpu) {
    push('int8', `prefer 'speed': int8 kernels on ${provider} are faster and 4x smaller than fp32${int8Note ? ` (${int8Note})` : ''}; not fp16: ${whyNotFp16}`);
    push('fp32', `fp32 is the reference precision; not fp16: ${whyNotFp16}`);
  } else {
    push('fp32', `fp32 is the reference precision; not fp16: ${whyNotFp16}${has('int8') && !gpu ? `; int8 is preferred with prefer: 'speed'` : ''}`);
    push('int8', `int8 runs with integer kernels on ${provider}`);
  }
  // Without shader-f16 onnxruntime-web's float16 WebGPU shaders do not compile: the web backend refuses
  // a variant that computes in float16 there, so fp16 is only a last try (one that merely stores weights in it).
  push('fp16', provider === 'webgpu' && fp16Native === false ? `fp16 only as a last try: ${whyNotFp16}, which float16 WebGPU kernels need` : `fp16 runs, but ${whyNotFp16}`);
  return out;
}

function describeInt8Fit(int8: Int8Fit | undefined): string {
  if (!int8) return '';
  if (int8.arithmetic === 'exact') return "this CPU's int8 kernels sum u8 x s8 products exactly (VNNI, ARM or SSE)";
  if (int8.saturationSafe === true) return "this CPU's int8 kernels saturate u8 x s8 pairs (x86 without VNNI), and the variant's 7-bit weights stay within range";
  if (int8.saturationSafe === false) {
    return "the int8 variant has full-range weights (made for VNNI CPUs) and this CPU's int8 kernels saturate u8 x s8 pairs (x86 without VNNI): it would lose accuracy here; re-quantize with isa portable";
  }
  return "this CPU's int8 kernels saturate u8 x s8 pairs (x86 without VNNI), and the int8 variant does not say whether its weights stay within range";
}
