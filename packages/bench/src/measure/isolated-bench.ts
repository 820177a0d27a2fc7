import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, cancelledError } from '@onnx-forge/core';
import type { BenchModelsOptions, ModelBench } from './bench-models.js';
import type { BenchSource } from './open-model.js';
import { stageError } from './stage-error.js';
import { writeSamples } from './write-samples.js';

/** What the parent sends the child (JSON on stdin): plain options only. */
export interface ChildSpec {
  file: string;
  name: string;
  options: Pick<BenchModelsOptions, 'runs' | 'warmup' | 'seed' | 'dims' | 'backend' | 'providers' | 'sessionOptions'> & { inputs?: string };
}

export const RESULT_MARK = '@@onnx-forge-bench@@';
/** The environment variable that gives the measuring process the pid of the process that started it. */
export const PARENT_ENV = 'ONNX_FORGE_BENCH_PARENT';

/** The child entry beside this module: the built .js, or the .ts source when running from sources (tsx). */
function childEntry(): { file: string; nodeArgs: string[] } {
  const here = import.meta.url;
  if (/\.[mc]?ts$/.test(new URL(here).pathname)) {
    return { file: fileURLToPath(new URL('./bench-child.ts', here)), nodeArgs: ['--conditions=@onnx-forge/source', '--import', 'tsx'] };
  }
  return { file: fileURLToPath(new URL('./bench-child.js', here)), nodeArgs: [] };
}

/**
 * Measures one model in a fresh Node process (bench-child), so that the peak resident memory it
 * reports belongs to that model alone. A model given as bytes or a Model is written to a temporary
 * file first, and samples given in memory to a temporary folder of test data. Resolves to the model's entry, failed with its stage and code when the child failed.
 */
export async function benchIsolated(source: BenchSource, name: string, options: BenchModelsOptions): Promise<ModelBench> {
  let tmp: string | undefined;
  let file: string;
  if (typeof source === 'string') file = resolve(source);
  else {
    tmp = await mkdtemp(join(tmpdir(), 'onnx-forge-bench-'));
    file = join(tmp, 'model.onnx');
    await writeFile(file, source instanceof Model ? source.encode() : source);
  }
  let inputs = typeof options.inputs === 'string' ? resolve(options.inputs) : undefined;
  if (Array.isArray(options.inputs)) {
    // Samples in memory reach the process as a folder of test data; seeded inputs in their place would
    // measure another workload.
    try {
      tmp ??= await mkdtemp(join(tmpdir(), 'onnx-forge-bench-'));
      inputs = await writeSamples(options.inputs, tmp);
    } catch (e) {
      if (tmp) await rm(tmp, { recursive: true, force: true });
      const err = stageError('inputs', e);
      return { name, ...(typeof source === 'string' ? { file } : {}), status: 'failed', error: { ...err, message: `the samples given could not be written for the measuring process: ${err.message}` } };
    }
  }
  const spec: ChildSpec = {
    file,
    name,
    options: {
      ...(options.runs !== undefined ? { runs: options.runs } : {}),
      ...(options.warmup !== undefined ? { warmup: options.warmup } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.dims ? { dims: options.dims } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.providers ? { providers: options.providers } : {}),
      ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}),
      ...(inputs ? { inputs } : {}),
    },
  };
  const signal = options.signal;
  try {
    if (signal?.aborted) throw cancelledError(signal, `measuring ${name} in its own process was cancelled`);
    const entry = childEntry();
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      // cwd beside this module, so `--import tsx` resolves from the workspace when running from sources.
      // The child watches this process (PARENT_ENV) and stops when it dies, even before its own module ran.
      const child = spawn(process.execPath, [...entry.nodeArgs, entry.file], { cwd: dirname(entry.file), stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [PARENT_ENV]: String(process.pid) } });
      // Cancelled (optimize's Ctrl-C): the measuring process stops now, not after its last run.
      const stop = () => child.kill('SIGTERM');
      signal?.addEventListener('abort', stop, { once: true });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('error', (e) => {
        signal?.removeEventListener('abort', stop);
        fail(e);
      });
      child.on('close', (code) => {
        signal?.removeEventListener('abort', stop);
        done({ code, stdout, stderr });
      });
      child.stdin.end(JSON.stringify(spec));
    });
    if (signal?.aborted) throw cancelledError(signal, `measuring ${name} in its own process was cancelled`);
    const line = out.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
    if (!line) {
      return {
        name, file, status: 'failed',
        error: { stage: 'benchmark', code: 'FORGE_RUNTIME', message: `the measuring process exited with ${out.code} and no result: ${out.stderr.trim().split('\n').slice(-3).join(' ') || '(no output)'}` },
      };
    }
    const r = JSON.parse(line.slice(RESULT_MARK.length)) as ModelBench;
    // The process read the samples given from the folder they were written to, which is gone now.
    if (Array.isArray(options.inputs) && r.inputs) r.inputs = { ...r.inputs, source: 'given', from: `${options.inputs.length} sample(s) in memory` };
    return typeof source === 'string' ? r : { ...r, file: undefined } as ModelBench;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
