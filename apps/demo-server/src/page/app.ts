// The page's script, bundled by page-bundle.ts. It shows what its worker (optimize-worker.ts, bundled
// beside it as /page/worker.js) does: the worker loads onnxruntime-web from the server's /ort/ folder,
// makes the variants with graph-ops and runs them, so the page stays responsive however long a run takes.
import { formatMs, meanText, p50Text } from '@onnx-forge/bench/format';
import { formatCosine } from '@onnx-forge/graph-ops';
import { barChart, escape } from './charts.js';
import { pickModel } from './pick-files.js';
import {
  type MeasuredVariant, type Progress, type VariantResult, BUDGET_MS, MIN_RUNS, RUNS, TOLERANCE, WARMUP,
} from './optimize-in-browser.js';
import type { OptimizeRequest, WorkerMessage } from './worker-messages.js';

interface DemoState {
  state: 'loading' | 'idle' | 'working' | 'done' | 'error' | 'stopped';
  backend?: string;
  model?: string;
  results?: Omit<VariantResult, 'file'>[];
  /** Progress steps shown for the current model, in order. */
  steps: string[];
  error?: string;
}

const demo: DemoState = { state: 'loading', steps: [] };
// Read by the browser test (and handy in the console).
(globalThis as { forgeDemo?: DemoState }).forgeDemo = demo;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function kb(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} kB`;
}

/** "0.290 [0.280, 0.310]": the median and its 95 % interval, in ms, as the CLI writes them. */
const p50Of = (r: MeasuredVariant) => p50Text({ p50: r.p50Ms, p50Ci95: r.p50Ci95Ms });
/** "0.300 [0.270, 0.330]": the mean and its 95 % interval (low end at least 0), in ms. */
const meanOf = (r: MeasuredVariant) => meanText({ mean: r.meanMs, meanMarginOfError95: r.meanMarginOfError95Ms });

const measured = (r: VariantResult): r is MeasuredVariant => r.status === 'measured';

/** How many runs the latencies come from, and what their intervals are. */
function latencyNote(results: readonly MeasuredVariant[]): string {
  const counts = new Set(results.map((r) => r.runs));
  const runs = counts.size === 1 ? `${results[0]?.runs ?? 0} timed runs of each variant` : `timed runs: ${results.map((r) => `${r.name} ${r.runs}`).join(', ')}`;
  return `Latency in ms from ${runs}, one at a time after ${WARMUP} warm-up runs (at least ${MIN_RUNS}, then up to ${RUNS} within ${BUDGET_MS / 1000} s). `
    + 'p50 and mean with their 95 % intervals [low, high]: the median\'s from order statistics, the mean\'s Student t with its low end at least 0 (a latency is never negative). '
    + 'Variants whose intervals overlap are not measurably apart.';
}

function pct(x: number): string {
  if (!Number.isFinite(x)) return 'NaN/Inf';
  return x === 0 ? '0 %' : x < 0.001 ? '< 0.1 %' : `${(x * 100).toFixed(1)} %`;
}

/** Download links of the shown results, revoked when the next results replace them. */
let links: string[] = [];

/** The cells of a row with no figures: what happened instead, where the latency would be. */
function unmeasuredCells(r: Exclude<VariantResult, MeasuredVariant>): string {
  const what = r.status === 'unchanged' ? 'not run: the pass changed nothing (see the fp32 row)' : `failed: ${r.error ?? 'did not run'}`;
  return `<td class="p50 status" title="${escape(what)}">${escape(what.length > 60 ? `${what.slice(0, 60)}…` : what)}</td>`
    + '<td class="mean">—</td><td class="p90">—</td><td class="runs">0</td><td>—</td><td>—</td><td>—</td>'
    + `<td>${r.status === 'unchanged' ? 'not run' : `failed (${escape(r.provider ?? '')})`}</td>`;
}

function render(results: readonly VariantResult[], stem: string): void {
  for (const u of links) URL.revokeObjectURL(u);
  links = [];
  const rows = results.map((r) => {
    // The file name comes from the user's file: escaped like every other text put into the markup.
    const file = escape(`${stem}.${r.name}.onnx`);
    let download = '—';
    if (r.file) {
      const url = URL.createObjectURL(new Blob([r.file as BlobPart], { type: 'application/octet-stream' }));
      links.push(url);
      download = `<a href="${url}" download="${file}">${file}</a>`;
    }
    if (!measured(r)) return `<tr data-variant="${r.name}" data-status="${r.status}"><td>${r.name}</td><td>${kb(r.bytes)}</td>${unmeasuredCells(r)}<td>${download}</td></tr>`;
    const vectors = r.outputs.some((o) => o.elements > 1);
    return `<tr data-variant="${r.name}" data-status="measured"><td>${r.name}</td><td>${kb(r.bytes)}</td><td class="p50">${p50Of(r)}</td><td class="mean">${meanOf(r)}</td>`
      + `<td class="p90">${formatMs(r.p90Ms)}</td><td class="runs">${r.runs}</td>`
      + `<td>${vectors ? formatCosine(r.minCosine) : '—'}</td><td>${pct(r.scaleError)}</td><td>${r.top1 === null ? '—' : `${(r.top1 * 100).toFixed(0)} %`}</td>`
      + `<td>${escape(r.provider)}</td><td>${download}</td></tr>`;
  });
  ($('table').querySelector('tbody') as HTMLElement).innerHTML = rows.join('');
  const ran = results.filter(measured);
  $('latency-note').textContent = latencyNote(ran);
  const notes = results.flatMap((r) => r.notes);
  $('notes').innerHTML = notes.map((n) => `<li>${escape(n)}</li>`).join('');
  $('notes-panel').hidden = notes.length === 0;
  $('charts').innerHTML = [
    barChart('Size', results.map((r) => ({ label: r.name, value: r.bytes, text: kb(r.bytes) })), { caption: 'smaller is better' }),
    barChart('Latency (p50, warm)', ran.map((r) => ({ label: r.name, value: r.p50Ms, interval: r.p50Ci95Ms, text: `${p50Of(r)} ms` })), {
      caption: 'ms, whisker: 95 % interval; lower is better',
    }),
    barChart('Largest error (% of the output\'s scale)', ran.map((r) => ({ label: r.name, value: Number.isFinite(r.scaleError) ? r.scaleError : 1, text: pct(r.scaleError) })), {
      caption: 'against FP32 on WebAssembly, worst output and sample; lower is better',
    }),
  ].join('');
  $('results').hidden = false;
}

/** Shows an error: `error` in the state the tests read, `text` (the error with its context) on the page. */
function showError(error: string, text = error): void {
  demo.state = 'error';
  demo.error = error;
  $('results').hidden = true;
  $('progress-panel').hidden = true;
  $('error').textContent = text;
}

/** The inputs that start a run: off while one runs, so two models never mix their results. */
function setInputsEnabled(on: boolean, sampleReady: boolean): void {
  ($('sample') as HTMLButtonElement).disabled = !on || !sampleReady;
  ($('file') as HTMLInputElement).disabled = !on;
  $('drop').classList.toggle('busy', !on);
}

let sampleReady = false;
/** The run whose results the page shows; an older one that finishes late is ignored. */
let currentRun = 0;

/** What the worker said of onnxruntime-web once it loaded: the provider and why. */
interface Ready {
  readonly ep: 'webgpu' | 'wasm';
  readonly reason: string;
}

/** The page's worker, and its word on onnxruntime-web (rejected when it did not load). */
interface PageWorker {
  readonly worker: Worker;
  readonly ready: Promise<Ready>;
}

function startWorker(): PageWorker {
  const worker = new Worker('/page/worker.js', { type: 'module' });
  const ready = new Promise<Ready>((resolve, reject) => {
    const onMessage = ({ data }: MessageEvent<WorkerMessage>) => {
      if (data.type === 'ready') resolve({ ep: data.ep, reason: data.reason });
      else if (data.type === 'runtime-error') reject(new Error(`onnxruntime-web did not load: ${data.message}`));
      else return;
      worker.removeEventListener('message', onMessage);
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', (ev) => reject(new Error(`the page's worker did not start: ${ev.message || 'its script failed to load'}`)), { once: true });
  });
  // Its failure is shown by whoever waits on it (main, or the next run).
  ready.catch(() => undefined);
  return { worker, ready };
}

let pageWorker = startWorker();

/** Ends the worker (and whatever it runs, at once) and starts a fresh one for the next model. */
function restartWorker(): void {
  pageWorker.worker.terminate();
  pageWorker = startWorker();
}

/** The error a stopped optimization rejects with. */
class Stopped extends Error {
  constructor() {
    super('stopped');
    this.name = 'Stopped';
  }
}

/**
 * Sends `bytes` (moved, not copied) to the worker and resolves with the variants it made and measured.
 * Stop terminates the worker mid-run and rejects with Stopped; a worker that failed is replaced too, so
 * a model that broke onnxruntime-web (out of memory, say) leaves nothing behind for the next one.
 */
async function optimizeInWorker(model: ModelFiles, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<VariantResult[]> {
  const { worker } = pageWorker;
  await pageWorker.ready;
  if (signal.aborted) throw new Stopped();
  return new Promise<VariantResult[]>((resolve, reject) => {
    const finish = (end: () => void) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      signal.removeEventListener('abort', onStop);
      end();
    };
    const onMessage = ({ data }: MessageEvent<WorkerMessage>) => {
      if (data.type === 'progress') onProgress(data);
      else if (data.type === 'done') finish(() => resolve(data.results));
      else if (data.type === 'error') {
        restartWorker();
        finish(() => reject(new Error(data.message)));
      }
    };
    const onError = (ev: ErrorEvent) => {
      ev.preventDefault();
      restartWorker();
      finish(() => reject(new Error(`the page's worker failed: ${ev.message}`)));
    };
    const onStop = () => {
      restartWorker();
      finish(() => reject(new Stopped()));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    signal.addEventListener('abort', onStop, { once: true });
    const request: OptimizeRequest = { type: 'optimize', bytes: model.bytes, sideFiles: model.sideFiles };
    worker.postMessage(request, [model.bytes.buffer as ArrayBuffer]);
  });
}

/** A model to optimize: its bytes, and the files given with it (its external data, when it keeps weights beside it). */
interface ModelFiles {
  readonly bytes: Uint8Array;
  readonly sideFiles: readonly File[];
}

async function run(load: () => Promise<ModelFiles>, name: string): Promise<void> {
  const id = ++currentRun;
  demo.state = 'working';
  demo.model = name;
  demo.steps = [];
  delete demo.error;
  delete demo.results;
  $('error').textContent = '';
  $('results').hidden = true;
  $('notes-panel').hidden = true;
  $('progress-panel').hidden = false;
  setInputsEnabled(false, sampleReady);
  // A model can take minutes (seconds a run on WebAssembly, more on a slow GPU): Stop ends it at once.
  const stop = new AbortController();
  const button = $('stop') as HTMLButtonElement;
  button.hidden = false;
  button.disabled = false;
  button.onclick = () => {
    button.disabled = true;
    stop.abort();
  };
  try {
    const model = await load();
    const results = await optimizeInWorker(model, (p) => {
      if (id !== currentRun) return;
      demo.steps.push(p.step);
      $('step').textContent = `${name}: ${p.step}`;
      ($('progress') as HTMLProgressElement).value = p.done / p.total;
    }, stop.signal);
    if (id !== currentRun) return;
    render(results, name.replace(/\.onnx$/i, ''));
    demo.results = results.map(({ file: _file, ...rest }) => rest);
    demo.state = 'done';
  } catch (e) {
    if (id !== currentRun) return;
    $('progress-panel').hidden = true;
    if (e instanceof Stopped) {
      demo.state = 'stopped';
      $('error').textContent = `Stopped ${name}: nothing was kept. Pick a model to start again.`;
      return;
    }
    const error = e instanceof Error ? e.message : String(e);
    // Past reading it, the model failed on the page's own inputs: say so, and where to give real ones.
    const inputs = /^reading the model: /.test(error) ? '' : '\nThe page runs each model on seeded test inputs (symbolic dimensions sized so it runs where it can); '
      + 'a model that needs particular inputs may not run on them. The CLI takes your own inputs: onnx-forge optimize --help.';
    showError(error, `Could not optimize ${name}: ${error}${inputs}`);
  } finally {
    if (id === currentRun) {
      button.hidden = true;
      setInputsEnabled(true, sampleReady);
    }
  }
}

async function main(): Promise<void> {
  let rt: Ready;
  try {
    rt = await pageWorker.ready;
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
    return;
  }
  demo.backend = rt.ep;
  $('backend').textContent = rt.ep === 'webgpu' ? 'WebGPU' : 'WebAssembly (wasm)';
  $('backend-reason').textContent = `(${rt.reason})`;
  $('tolerance').textContent = String(TOLERANCE);

  const index = (await fetch('/v2/repository/index', { method: 'POST' }).then((r) => r.json()).catch(() => [])) as { name: string; state: string }[];
  const sample = index.find((m) => m.state === 'READY');
  const button = $('sample') as HTMLButtonElement;
  if (sample) {
    sampleReady = true;
    button.textContent = `Use the sample model (${sample.name})`;
    button.disabled = false;
    button.onclick = () =>
      run(async () => ({ bytes: new Uint8Array(await (await fetch(`/page/models/${encodeURIComponent(sample.name)}.onnx`)).arrayBuffer()), sideFiles: [] }), `${sample.name}.onnx`);
  } else {
    $('sample-name').textContent = 'the server has no model ready';
  }

  /** A model picked or dropped: one file, or a .onnx file with its external data files. */
  const take = async (list: FileList | null | undefined) => {
    const files = Array.from(list ?? []);
    if (!files.length || demo.state === 'working') return;
    const picked = pickModel(files);
    if ('error' in picked) {
      showError(picked.error);
      return;
    }
    const { model, sideFiles } = picked;
    await run(async () => ({ bytes: new Uint8Array(await model.arrayBuffer()), sideFiles }), model.name);
  };
  const input = $('file') as HTMLInputElement;
  input.onchange = () => {
    const files = input.files;
    void take(files).finally(() => {
      // Cleared, so picking the same file again runs it again.
      input.value = '';
    });
  };
  const drop = $('drop');
  drop.ondragover = (ev) => {
    ev.preventDefault();
    if (demo.state !== 'working') drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    void take(ev.dataTransfer?.files);
  };
  demo.state = 'idle';
}

void main();
