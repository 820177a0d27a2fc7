import { isDefaultDomain } from '@onnx-forge/core';
import { parseOpsets, type ProbedOp } from './fp16-kernel-table.js';
import { ORT_FP16_PROBED } from './fp16-kernels-ort.generated.js';
import { GPU_FP16_KERNELS } from './fp16-kernels-gpu.js';

export const FP16_TARGETS = ['any', 'cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type Fp16Target = (typeof FP16_TARGETS)[number];

export interface KernelVerdict {
  /** true: runs in float16 natively; false: no float16 kernel; undefined: nothing known. */
  fp16: boolean | undefined;
  /** Why, in words fit for a report. */
  note: string;
}

function key(domain: string, opType: string): string {
  return isDefaultDomain(domain) ? opType : `${domain}.${opType}`;
}

function probedVerdict(entry: ProbedOp | undefined, target: string, opset: number): KernelVerdict {
  if (!entry) return { fp16: undefined, note: `not probed on ${target}` };
  const why = entry.why === undefined ? undefined : (ORT_FP16_PROBED.reasons[entry.why] ?? entry.why);
  const yes = parseOpsets(entry.yes);
  const no = parseOpsets(entry.no);
  const inRanges = (ranges: [number, number][], v: number) => ranges.some(([a, b]) => v >= a && v <= b);
  if (inRanges(yes, opset)) return { fp16: true, note: `float16 kernel on ${target} (probed at opset ${opset})` };
  if (inRanges(no, opset)) return { fp16: false, note: `no float16 kernel on ${target} at opset ${opset}${why ? ` (probe: ${why})` : ''}` };
  // Not probed at this opset: take the nearest probed one below (kernels are registered by version
  // ranges that begin where the schema changed), else the nearest above.
  const probed: { v: number; ok: boolean }[] = [];
  for (const [a, b] of yes) for (let v = a; v <= b; v++) probed.push({ v, ok: true });
  for (const [a, b] of no) for (let v = a; v <= b; v++) probed.push({ v, ok: false });
  if (!probed.length) return { fp16: undefined, note: `not probed on ${target}` };
  const below = probed.filter((p) => p.v < opset).sort((x, y) => y.v - x.v)[0];
  const above = probed.filter((p) => p.v > opset).sort((x, y) => x.v - y.v)[0];
  const near = (below ?? above) as { v: number; ok: boolean };
  return near.ok
    ? { fp16: true, note: `float16 kernel on ${target} (probed at opset ${near.v}, model uses ${opset})` }
    : { fp16: false, note: `no float16 kernel on ${target} (probed at opset ${near.v}, model uses ${opset})${why ? `: ${why}` : ''}` };
}

/** Whether `target` runs `opType` (at the model's opset for its domain) in float16. */
export function fp16KernelVerdict(target: Fp16Target, domain: string, opType: string, opset: number): KernelVerdict {
  const k = key(domain, opType);
  switch (target) {
    case 'any':
      return { fp16: true, note: 'target any: converted wherever the op schema admits float16' };
    case 'cpu':
      return probedVerdict(ORT_FP16_PROBED.cpu[k], 'cpu', opset);
    case 'wasm':
      return probedVerdict(ORT_FP16_PROBED.wasm[k], 'wasm', opset);
    case 'webgpu': case 'cuda': {
      const list = GPU_FP16_KERNELS[target];
      const since = list.ops.get(k);
      if (since !== undefined && opset >= since) return { fp16: true, note: `float16 kernel on ${target} (${list.source})` };
      if (since !== undefined) return { fp16: false, note: `no float16 kernel on ${target} before opset ${since} (${list.source})` };
      return { fp16: false, note: `no documented float16 kernel on ${target} (${list.source})` };
    }
  }
}
