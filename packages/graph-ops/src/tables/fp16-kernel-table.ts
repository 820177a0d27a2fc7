/**
 * Which operators a target runs in float16 natively. For `cpu` (onnxruntime-node) and `wasm`
 * (onnxruntime-web) the answer is measured by scripts/probe-fp16-kernels.ts; for `webgpu` and `cuda`
 * it comes from onnxruntime's documented kernel registrations (see fp16-kernels-gpu.ts).
 */

/** Probe results for one op: opsets (ranges "a-b" or single numbers) where fp16 ran natively or not. */
export interface ProbedOp {
  /** Opsets at which a float16 model of the op loaded, ran and got no runtime-inserted Casts. */
  yes?: string;
  /** Opsets at which it did not. */
  no?: string;
  /** How it failed (at the lowest opset in `no`): a key of ProbedKernelTable.reasons. */
  why?: string;
}

export interface ProbedKernelTable {
  runtime: Record<string, string>;
  generated: string;
  method: string;
  /** Reason code → what the probe saw: onnxruntime's message, whole. */
  reasons: Record<string, string>;
  cpu: Record<string, ProbedOp>;
  wasm: Record<string, ProbedOp>;
}

/** Parses "7-12,14" into [[7,12],[14,14]]. */
export function parseOpsets(text: string | undefined): [number, number][] {
  if (!text) return [];
  return text.split(',').filter(Boolean).map((part) => {
    const [a, b] = part.split('-').map(Number);
    return [a as number, (b ?? a) as number];
  });
}

/** Formats sorted opset numbers as ranges ("7-12,14"). */
export function formatOpsets(values: readonly number[]): string {
  const sorted = [...new Set(values)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
