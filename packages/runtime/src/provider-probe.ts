import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { ProviderConfig } from './provider-config.js';

/**
 * Starts an onnxruntime-node provider in a throw-away child process. A GPU provider that fails can
 * leave process-wide state behind (a Dawn instance, a CUDA context, loaded driver libraries), print
 * native errors on stderr, or abort the whole process on a broken driver; none of that reaches the
 * caller's process this way. The child runs plain JavaScript given inline (no file to locate, no
 * TypeScript loader needed), importing onnxruntime-node from the path this module resolves.
 */

export interface ProbeResult {
  ok: boolean;
  error: string;
  ms: number;
}

const CHILD_SOURCE = `
const [ortUrl, provider, modelB64] = process.argv.slice(-3);
const ort = (await import(ortUrl)).default ?? (await import(ortUrl));
const started = performance.now();
try {
  const s = await ort.InferenceSession.create(Buffer.from(modelB64, 'base64'), { executionProviders: [JSON.parse(provider)], logSeverityLevel: 3 });
  await s.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
  await s.release();
  process.stdout.write(JSON.stringify({ ok: true, error: '', ms: performance.now() - started }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message || e), ms: performance.now() - started }));
}
`;

export function probeInChildProcess(provider: ProviderConfig, model: Uint8Array, timeoutMs = 60_000): Promise<ProbeResult> {
  const ortUrl = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SOURCE, ortUrl, JSON.stringify(provider), Buffer.from(model).toString('base64')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      try {
        const r = JSON.parse(out) as ProbeResult;
        resolve({ ...r, ms });
      } catch {
        // No verdict: the child died (driver abort, timeout). That is exactly what this isolation is for.
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        resolve({ ok: false, error: `the probe process for ${JSON.stringify(provider)} died (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`, ms });
      }
    });
  });
}
