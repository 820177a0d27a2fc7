import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { median } from '../src/stats.js';

// onnxruntime's Python tools, run on the benchmarks' own models when a Python with onnxruntime is at
// hand (ONNX_FORGE_PYTHON, else python3), so comparisons with them are measured here, not quoted.

/**
 * Runs one tool in its own Python process and prints its time, CPU time and peak RSS (or its error) as
 * JSON. `seconds` counts from the start, imports included; `importSeconds` is the part spent importing
 * onnx and onnxruntime, which a comparison with a process that has its packages loaded leaves out.
 * The output goes to one file, or with `external` its weights to a side file.
 */
const PYTHON_TOOL = `
import json, os, resource, sys, time
tool, src, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
external = len(sys.argv) < 6 or sys.argv[5] == 'external'
try:
    # If memory runs out after all, the kernel should stop this process, not another one.
    with open('/proc/self/oom_score_adj', 'w') as f: f.write('1000')
except OSError:
    pass
if limit > 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
t0, c0 = time.time(), time.process_time()
error = None
imported = t0
try:
    import onnx, onnxruntime
    from onnxruntime.quantization import quantize_dynamic
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    imported = time.time()
    if tool == 'int8':
        quantize_dynamic(src, out, use_external_data_format=external)
    elif tool in ('fp16', 'fp16-no-shape-infer', 'fp16-keep-io'):
        m = convert_float_to_float16(onnx.load(src), disable_shape_infer=tool == 'fp16-no-shape-infer', keep_io_types=tool == 'fp16-keep-io')
        if external:
            onnx.save(m, out, save_as_external_data=True, location=os.path.basename(out) + '.data')
        else:
            onnx.save(m, out)
    elif tool == 'int4':
        q = MatMulNBitsQuantizer(onnx.load(src), block_size=32, is_symmetric=True)
        q.process()
        q.model.save_model_to_file(out, use_external_data_format=external)
except BaseException as e:
    error = (type(e).__name__ + ': ' + str(e)).strip()[:300]
print(json.dumps({'seconds': time.time() - t0, 'importSeconds': imported - t0, 'cpuSeconds': time.process_time() - c0,
                  'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'error': error}))
`;

/** A Python with onnxruntime and onnx (ONNX_FORGE_PYTHON, else python3), and onnxruntime's version; undefined when there is none. */
export function findPython(): { python: string; onnxruntime: string } | undefined {
  const python = process.env.ONNX_FORGE_PYTHON || 'python3';
  const r = spawnSync(python, ['-c', 'import onnxruntime, onnx; print(onnxruntime.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { python, onnxruntime: r.stdout.trim() } : undefined;
}

export interface PythonRun {
  /** From the process's start to the written output, imports included. */
  seconds: number;
  /** The part of `seconds` spent importing onnx and onnxruntime. */
  importSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  error: string | null;
}

/** `tool` (fp16, fp16-no-shape-infer, fp16-keep-io, int8, int4) on `input` into `output`, in a process of its own under an address-space limit (0: none). */
export function runPython(python: string, tool: string, input: string, output: string, limitBytes: number, layout: 'external' | 'inline' = 'external'): PythonRun {
  const r = spawnSync(python, ['-c', PYTHON_TOOL, tool, input, output, String(limitBytes), layout], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 3_600_000 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as PythonRun;
  } catch {
    return { seconds: 0, importSeconds: 0, cpuSeconds: 0, peakRssBytes: 0, error: `the Python process ended without a result (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-300)}` };
  }
}

/** The median of runs of `tool` on `input`, each in its own process, or the first run's error. */
function pythonMedian(python: string, tool: string, input: string, output: string, reps: number): { seconds: number; cpuSeconds: number; peakRssBytes: number; runs: PythonRun[]; error?: string } {
  const runs: PythonRun[] = [];
  for (let i = 0; i < reps; i++) {
    const r = runPython(python, tool, input, output, 0, 'inline');
    runs.push(r);
    if (r.error) return { seconds: 0, cpuSeconds: 0, peakRssBytes: r.peakRssBytes, runs, error: r.error };
  }
  // The work after the imports: a process that has its packages loaded is what it is compared with.
  return { seconds: median(runs.map((r) => r.seconds - r.importSeconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)), peakRssBytes: median(runs.map((r) => r.peakRssBytes)), runs };
}

/** Decimal megabytes, as core's formatBytes and every other figure. */
const MB = 1e6;

/** onnxruntime's Python tool measured on a benchmark's model, for the result file and its README rows. */
export interface PythonComparison {
  onnxruntime: string;
  /** How the tool was called, for the result file. */
  tool: string;
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  runs: PythonRun[];
  error?: string;
  /** Size of its output, when it wrote one. */
  bytes?: number;
}

/**
 * `tool` (see runPython) on `model`, `reps` times in processes of their own, when a Python with
 * onnxruntime is at hand (undefined otherwise): its output goes to `out` and is removed after. Prints
 * one line naming it `label` (`onnxruntime's quantize_dynamic`).
 */
export function comparePython(tool: string, call: string, label: string, model: string, out: string, reps: number): PythonComparison | undefined {
  const py = findPython();
  if (!py) return undefined;
  const m = pythonMedian(py.python, tool, model, out, reps);
  const bytes = m.error ? undefined : statSync(out).size;
  rmSync(out, { force: true });
  const c: PythonComparison = { onnxruntime: py.onnxruntime, tool: call, seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssBytes: m.peakRssBytes, runs: m.runs, ...(m.error ? { error: m.error } : {}), ...(bytes === undefined ? {} : { bytes }) };
  process.stdout.write(c.error
    ? `${label} (Python, onnxruntime ${c.onnxruntime}): failed: ${c.error}\n`
    : `${label} (Python, onnxruntime ${c.onnxruntime}): ${c.seconds.toFixed(2)} s median of ${reps} after its imports (CPU ${c.cpuSeconds.toFixed(2)} s), peak RSS ${(c.peakRssBytes / MB).toFixed(0)} MB\n`);
  return c;
}

/** The result file's entry for a comparison. */
export function pythonJson(c: PythonComparison): Record<string, unknown> {
  return { onnxruntime: c.onnxruntime, tool: c.tool, seconds: c.seconds, cpuSeconds: c.cpuSeconds, peakRssMB: c.peakRssBytes / MB, bytes: c.bytes, error: c.error, runs: c.runs };
}

/** The README cell of a comparison, against onnx-forge's median seconds and peak MB on the same file. */
export function pythonCell(c: PythonComparison, reps: number, seconds: number, peakRssBytes: number): string {
  return c.error
    ? `fails: ${c.error}`
    : `${c.seconds.toFixed(2)} s median of ${reps} (CPU ${c.cpuSeconds.toFixed(2)} s), peak RSS ${(c.peakRssBytes / MB).toFixed(0)} MB: onnx-forge ${(c.seconds / seconds).toFixed(1)} × faster, ${(c.peakRssBytes / peakRssBytes).toFixed(1)} × less memory`;
}
