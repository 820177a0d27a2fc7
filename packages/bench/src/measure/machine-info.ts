import { availableParallelism, cpus, totalmem } from 'node:os';
import { cpuInfo } from '@onnx-forge/runtime';

/** The machine a measurement ran on: figures mean little without it. */
export interface MachineInfo {
  cpu: string;
  /** Instruction-set family as onnxruntime's integer kernels see it (runtime's cpuInfo). */
  isa: string;
  cores: number;
  memoryBytes: number;
  platform: string;
  arch: string;
  node: string;
  onnxruntime: string | null;
}

let cached: Promise<MachineInfo> | undefined;

export function machineInfo(): Promise<MachineInfo> {
  cached ??= (async () => {
    const cpu = await cpuInfo();
    let onnxruntime: string | null = null;
    try {
      const ort = await import('onnxruntime-node');
      onnxruntime = ort.env.versions?.common ?? null;
    } catch {
      // Not installed: the figures then came from another backend, which the results name.
    }
    return {
      cpu: cpu.model || cpus()[0]?.model || 'unknown',
      isa: cpu.isa,
      cores: availableParallelism(),
      memoryBytes: totalmem(),
      platform: process.platform,
      arch: process.arch,
      node: process.version,
      onnxruntime,
    };
  })();
  return cached;
}
