// The page's script, bundled with graph-ops and core by page-bundle.ts; onnxruntime-web is loaded at
// run time from the server's /ort/ folder.
import { barChart } from './charts.js';
import { type Runtime, type VariantResult, loadRuntime, optimizeInBrowser } from './optimize-in-browser.js';

interface DemoState {
  state: 'loading' | 'idle' | 'working' | 'done' | 'error';
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

function ms(n: number): string {
  return n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n.toFixed(2)} ms`;
}

function render(results: readonly VariantResult[], stem: string): void {
  const rows = results.map((r) => {
    const url = URL.createObjectURL(new Blob([r.file as BlobPart], { type: 'application/octet-stream' }));
    const file = `${stem}.${r.name}.onnx`;
    return `<tr data-variant="${r.name}"><td>${r.name}</td><td>${kb(r.bytes)}</td><td>${ms(r.p50Ms)}</td><td>${ms(r.p90Ms)}</td><td>${r.runs}</td>`
      + `<td>${r.minCosine.toFixed(5)}</td><td>${(r.top1 * 100).toFixed(0)} %</td><td>${r.provider}</td><td><a href="${url}" download="${file}">${file}</a></td></tr>`;
  });
  $('table').querySelector('tbody')?.replaceChildren();
  ($('table').querySelector('tbody') as HTMLElement).innerHTML = rows.join('');
  $('charts').innerHTML = [
    barChart('Size', results.map((r) => ({ label: r.name, value: r.bytes, text: kb(r.bytes) })), { caption: 'smaller is better' }),
    barChart('Latency (p50, warm)', results.map((r) => ({ label: r.name, value: r.p50Ms, text: ms(r.p50Ms) })), { caption: 'lower is better' }),
    barChart('Accuracy (cosine to FP32)', results.map((r) => ({ label: r.name, value: r.minCosine, text: r.minCosine.toFixed(5) })), { max: 1, caption: 'worst output and sample; 1 is identical' }),
  ].join('');
  $('results').hidden = false;
}

async function run(rt: Runtime, bytes: Uint8Array, name: string): Promise<void> {
  demo.state = 'working';
  demo.model = name;
  demo.steps = [];
  $('error').textContent = '';
  $('results').hidden = true;
  $('progress-panel').hidden = false;
  ($('sample') as HTMLButtonElement).disabled = true;
  try {
    const results = await optimizeInBrowser(bytes, rt, (p) => {
      demo.steps.push(p.step);
      $('step').textContent = `${name}: ${p.step}`;
      ($('progress') as HTMLProgressElement).value = p.done / p.total;
    });
    render(results, name.replace(/\.onnx$/i, ''));
    demo.results = results.map(({ file: _file, ...rest }) => rest);
    demo.state = 'done';
  } catch (e) {
    demo.state = 'error';
    demo.error = e instanceof Error ? e.message : String(e);
    $('error').textContent = `Could not optimize ${name}: ${demo.error}`;
  } finally {
    ($('sample') as HTMLButtonElement).disabled = false;
  }
}

async function main(): Promise<void> {
  let rt: Runtime;
  try {
    rt = await loadRuntime();
  } catch (e) {
    demo.state = 'error';
    demo.error = `onnxruntime-web did not load: ${e instanceof Error ? e.message : String(e)}`;
    $('error').textContent = demo.error;
    return;
  }
  demo.backend = rt.ep;
  $('backend').textContent = rt.ep === 'webgpu' ? 'WebGPU' : 'WebAssembly (wasm)';
  $('backend-reason').textContent = `(${rt.reason})`;

  const index = (await fetch('/v2/repository/index', { method: 'POST' }).then((r) => r.json()).catch(() => [])) as { name: string; state: string }[];
  const sample = index.find((m) => m.state === 'READY');
  const button = $('sample') as HTMLButtonElement;
  if (sample) {
    button.textContent = `Use the sample model (${sample.name})`;
    button.disabled = false;
    button.onclick = async () => {
      const bytes = new Uint8Array(await (await fetch(`/page/models/${encodeURIComponent(sample.name)}.onnx`)).arrayBuffer());
      await run(rt, bytes, `${sample.name}.onnx`);
    };
  } else {
    $('sample-name').textContent = 'the server has no model ready';
  }

  const take = async (file: File | undefined) => {
    if (file) await run(rt, new Uint8Array(await file.arrayBuffer()), file.name);
  };
  ($('file') as HTMLInputElement).onchange = (ev) => void take((ev.target as HTMLInputElement).files?.[0]);
  const drop = $('drop');
  drop.ondragover = (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    void take(ev.dataTransfer?.files[0]);
  };
  demo.state = 'idle';
}

void main();
