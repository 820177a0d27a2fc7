/**
 * Models larger than memory (issue 15): the command line on a seeded decoder of 3.3 GB in external
 * data (15 layers, hidden 2048, vocabulary 16000; no tensor above 131 MB), built once a tensor at a
 * time (transformerDecoder with deferred weights streamed by writeModel):
 *   - `onnx-forge fp16`, `onnx-forge quantize` (INT8 dynamic) and `onnx-forge quantize --bits 4`, each
 *     a CLI process of its own: wall and CPU time, peak RSS of that process    target < 1 GB each
 *   - each output loads in onnxruntime-node and answers seeded prompts: logits cosine and greedy-token
 *     agreement against the float32 model, run in another process (onnxruntime holds a model it runs)
 * The CLI streams inputs with 1 GiB or more of weights: passes read each weight when they convert it,
 * the writer when it reaches it. `--no-verify`: the CLI's own accuracy check runs both models in
 * onnxruntime, whose memory is the model's; the check here does the same work in its own process.
 * Side by side, onnxruntime's own Python tools on the same model, when a Python with onnxruntime is
 * at hand (ONNX_FORGE_PYTHON, else python3): quantize_dynamic, the FP16 converter (as called by
 * default, then with disable_shape_infer=True, which models past 2 GB need) and MatMulNBitsQuantizer,
 * each in its own process with its time and peak RSS (an address-space limit keeps a runaway tool from
 * taking the machine). Without one, their peak memory is projected from the ratios measured on
 * BERT-base (the survey of existing tools, outside this repository) and labelled as such.
 *
 *   python3 -m venv v && v/bin/pip install onnxruntime onnx onnx-ir   # then ONNX_FORGE_PYTHON=v/bin/python
 *
 *   npm run bench -- large                 # from the repository root; first run builds the model (~3.3 GB on disk)
 *   npm run bench -- large -- --seed 7     # options (--strict: exit 1 on a missed target; --layers N for a
 *                                          # smaller model when trying the script out, 15 by default)
 *
 * The model is cached under .bench-cache/large/; outputs are deleted after measuring.
 * Results go to .bench-cache/results/large.json.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, argmaxRows, float16ArrayToFloat32, transformerDecoder, writeModel } from '@onnx-forge/core';
import { parseBenchOptions } from '../src/bench-options.js';
import { BENCH_CACHE, WORKSPACE_ROOT } from '../src/bert-model.js';
import { processCpuMs, reportResult, runIsolated } from '../src/isolate.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult, targetsLine } from '../src/save-result.js';
import { cosineSimilarity } from '../src/stats.js';
import { findPython, runPython } from './python-tools.js';

const SCRIPT = fileURLToPath(import.meta.url);
const CLI_MAIN = join(WORKSPACE_ROOT, 'apps/cli/src/main.ts');
const MB = 1e6;
const GB = 1e9;
const TARGET_RSS_MB = 1000;
/** A Llama-shaped decoder of 3.3 GB: 15 layers of 205 MB, embedding and lm_head 131 MB each. */
const DECODER = { hidden: 2048, heads: 16, intermediate: 5632, vocab: 16000, maxPositions: 128 } as const;
const LAYERS = 15;
/** onnxruntime's Python tools' peak memory over the model's size (issue 15, from the BERT-base runs of the survey of existing tools). */
const PYTHON_PEAK_RATIO = { quantizeDynamic: 3.1, fp16Converter: 4.9 } as const;
const PROMPT = { batch: 1, sequence: 32, prompts: 3 } as const;

interface Job {
  name: string;
  label: string;
  args: (input: string, output: string) => string[];
}

const JOBS: Job[] = [
  { name: 'fp16', label: '`onnx-forge fp16`', args: (i, o) => ['fp16', i, '-o', o, '--no-verify', '--json'] },
  { name: 'int8', label: '`onnx-forge quantize` (INT8 dynamic)', args: (i, o) => ['quantize', i, '-o', o, '--no-verify', '--json'] },
  { name: 'int4', label: '`onnx-forge quantize --bits 4`', args: (i, o) => ['quantize', i, '-o', o, '--bits', '4', '--no-verify', '--json'] },
];

/** The cached model's folder: its parameters, seed, and a hash of the builder's sources. */
function modelDir(seed: number, layers: number): string {
  const builder = join(WORKSPACE_ROOT, 'packages/core/src/builder');
  const hash = createHash('sha256');
  for (const f of ['decoder.ts', 'model-builder.ts', 'random.ts']) hash.update(readFileSync(join(builder, f)));
  const p = DECODER;
  return join(BENCH_CACHE, 'large', `decoder-L${layers}-H${p.hidden}-A${p.heads}-I${p.intermediate}-V${p.vocab}-seed${seed}-${hash.digest('hex').slice(0, 10)}`);
}

function prompts(seed: number): { input_ids: BigInt64Array; attention_mask: BigInt64Array; position_ids: BigInt64Array }[] {
  const rng = new Rng(seed);
  const n = PROMPT.batch * PROMPT.sequence;
  return Array.from({ length: PROMPT.prompts }, () => ({
    input_ids: BigInt64Array.from({ length: n }, () => BigInt(rng.int(0, DECODER.vocab))),
    attention_mask: new BigInt64Array(n).fill(1n),
    position_ids: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % PROMPT.sequence)),
  }));
}

// ---------------------------------------------------------------------------------------------------
// Scenarios, each alone in a child process.

async function scenario(name: string, args: string[]): Promise<void> {
  switch (name) {
    case 'build': {
      // Every weight is made when the writer reaches it, written, and dropped.
      const [dir = '', seed = '42', layers = String(LAYERS)] = args;
      const c0 = processCpuMs();
      const t0 = performance.now();
      const r = await writeModel(transformerDecoder({ ...DECODER, layers: Number(layers), seed: Number(seed), weights: 'deferred' }), join(dir, 'model.onnx'), { externalData: true });
      reportResult({ ms: performance.now() - t0, cpuMs: processCpuMs() - c0, bytes: r.bytes + (r.externalData?.bytes ?? 0) });
      return;
    }
    case 'accuracy': {
      // After the clock: every output loads in onnxruntime-node and answers like float32.
      const [reference = '', seed = '42', ...outputs] = args;
      const ort = await import('onnxruntime-node');
      const feeds = prompts(Number(seed)).map((p) => ({
        input_ids: new ort.Tensor('int64', p.input_ids, [PROMPT.batch, PROMPT.sequence]),
        attention_mask: new ort.Tensor('int64', p.attention_mask, [PROMPT.batch, PROMPT.sequence]),
        position_ids: new ort.Tensor('int64', p.position_ids, [PROMPT.batch, PROMPT.sequence]),
      }));
      const run = async (path: string) => {
        const t0 = performance.now();
        const s = await ort.InferenceSession.create(path, { logSeverityLevel: 3, intraOpNumThreads: 2, executionProviders: ['cpu'] });
        const loadMs = performance.now() - t0;
        const logits: Float32Array[] = [];
        for (const f of feeds) {
          const t = (await s.run(f)).logits;
          // The fp16 command converts the model's outputs too (no --keep-io-types): float16 bits.
          logits.push(t?.type === 'float16' ? float16ArrayToFloat32(t.data as Uint16Array) : (t?.data as Float32Array));
        }
        await s.release();
        return { loadMs, logits };
      };
      const ref = await run(reference);
      const result: Record<string, { loadMs: number; cosine: number; greedyAgreement: number }> = {};
      for (const out of outputs) {
        const got = await run(out);
        let cosine = 1;
        let same = 0;
        let total = 0;
        for (let i = 0; i < feeds.length; i++) {
          const a = ref.logits[i] as Float32Array;
          const b = got.logits[i] as Float32Array;
          cosine = Math.min(cosine, cosineSimilarity(a, b));
          const ga = argmaxRows(a, DECODER.vocab);
          const gb = argmaxRows(b, DECODER.vocab);
          same += ga.filter((t, j) => t === gb[j]).length;
          total += ga.length;
        }
        result[out] = { loadMs: got.loadMs, cosine, greedyAgreement: same / total };
      }
      reportResult({ referenceLoadMs: ref.loadMs, outputs: result });
      return;
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The CLI, measured as its own process.

interface CliRun {
  code: number;
  wallMs: number;
  cpuMs: number;
  peakRssBytes: number;
  json: Record<string, unknown> | undefined;
  stderr: string;
}

/**
 * Runs the CLI from its sources (as the repository's tests do) with a preload that writes the
 * process's own peak RSS and CPU time when it exits: the figures of the CLI process itself. The
 * environment is a user's (no GLIBC_TUNABLES): the CLI chooses its malloc mode by itself.
 */
function runCli(args: string[]): Promise<CliRun> {
  const stats = join(tmpdir(), `onnx-forge-large-${process.pid}-${Math.random().toString(36).slice(2, 8)}.json`);
  const preload = 'data:text/javascript,' + encodeURIComponent(
    `import{writeFileSync}from"node:fs";process.on("exit",()=>{const u=process.cpuUsage();writeFileSync(process.env.FORGE_BENCH_STATS,JSON.stringify({maxRss:process.resourceUsage().maxRSS*1024,cpuMs:(u.user+u.system)/1000}))});`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, FORGE_BENCH_STATS: stats, ONNX_FORGE_DEBUG: '' };
  delete env.GLIBC_TUNABLES;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', '--import', preload, CLI_MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      process.stderr.write(s);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      let s = { maxRss: 0, cpuMs: 0 };
      try {
        s = JSON.parse(readFileSync(stats, 'utf8')) as typeof s;
        rmSync(stats, { force: true });
      } catch {
        // the process died before its exit handler ran
      }
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? 1, wallMs, cpuMs: s.cpuMs, peakRssBytes: s.maxRss, json, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// onnxruntime's Python tools, on the same model.

interface PythonJob {
  name: string;
  /** The onnx-forge job it is compared with. */
  task: string;
  label: string;
}

const PYTHON_JOBS: PythonJob[] = [
  { name: 'fp16', task: 'fp16', label: "onnxruntime's `convert_float_to_float16`" },
  { name: 'fp16-no-shape-infer', task: 'fp16', label: "onnxruntime's `convert_float_to_float16(disable_shape_infer=True)`" },
  { name: 'int8', task: 'int8', label: "onnxruntime's `quantize_dynamic`" },
  { name: 'int4', task: 'int4', label: "onnxruntime's `MatMulNBitsQuantizer` (block 32, symmetric)" },
];

function fileBytes(file: string): number {
  const side = `${file}.data`;
  return statSync(file).size + (existsSync(side) ? statSync(side).size : 0);
}

// ---------------------------------------------------------------------------------------------------
// Orchestration.

interface JobResult {
  name: string;
  label: string;
  /** fp16, int8 or int4. */
  task: string;
  tool: 'onnx-forge' | 'onnxruntime';
  error?: string;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  outputBytes: number;
  streamed?: boolean;
  loadSeconds?: number;
  cosine?: number;
  greedyAgreement?: number;
}

async function main(): Promise<void> {
  const o = parseBenchOptions(process.argv.slice(2), { reps: 1, seed: 42, strict: false }, { layers: { value: LAYERS, min: 1 } });
  const dir = modelDir(o.seed, o.layers);
  const model = join(dir, 'model.onnx');
  let build: { ms: number; cpuMs: number; bytes: number; peakRssBytes: number } | undefined;
  if (!existsSync(model)) {
    const building = `${dir}.building`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    process.stdout.write(`building ${dir} (a tensor at a time) ...\n`);
    build = await runIsolated<{ ms: number; cpuMs: number; bytes: number }>(SCRIPT, ['--scenario', 'build', building, String(o.seed), String(o.layers)], { timeoutMs: 3_600_000 });
    // Kept with the model, so later runs still report what building it took.
    writeFileSync(join(building, 'build.json'), JSON.stringify(build));
    renameSync(building, dir);
  } else if (existsSync(join(dir, 'build.json'))) {
    build = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as typeof build;
  }
  const modelBytes = fileBytes(model);
  process.stdout.write(`model: ${model} (${(modelBytes / GB).toFixed(2)} GB in external data)${build ? `, built in ${(build.ms / 1000).toFixed(1)} s with peak RSS ${(build.peakRssBytes / MB).toFixed(0)} MB` : ''}\n`);

  const floor = await runCli(['passes']);
  process.stdout.write(`CLI process floor (onnx-forge passes): peak RSS ${(floor.peakRssBytes / MB).toFixed(0)} MB\n`);

  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const results: JobResult[] = [];
  try {
    for (const job of JOBS) {
      const target = join(out, `${job.name}.onnx`);
      process.stdout.write(`\n${job.label} ...\n`);
      const r = await runCli(job.args(model, target));
      if (r.code !== 0) throw new Error(`${job.label} exited with ${r.code}: ${r.stderr.slice(-2000)}`);
      const streamed = (r.json?.input as { streamed?: boolean } | undefined)?.streamed === true;
      results.push({
        name: job.name, label: job.label, task: job.name, tool: 'onnx-forge', wallSeconds: r.wallMs / 1000, cpuSeconds: r.cpuMs / 1000, peakRssMB: r.peakRssBytes / MB,
        outputBytes: fileBytes(target), streamed,
      });
      process.stdout.write(`  ${(r.wallMs / 1000).toFixed(1)} s (CPU ${(r.cpuMs / 1000).toFixed(1)} s), peak RSS ${(r.peakRssBytes / MB).toFixed(0)} MB, output ${(fileBytes(target) / GB).toFixed(2)} GB${streamed ? ', streamed' : ''}\n`);
    }
    const py = findPython();
    // What a Python tool may take: most of the machine, never all of it.
    const limit = Math.min(20e9, totalmem() - 4e9);
    if (py) {
      for (const job of PYTHON_JOBS) {
        const target = join(out, `py-${job.name}.onnx`);
        process.stdout.write(`\n${job.label} (onnxruntime ${py.onnxruntime}, Python) ...\n`);
        rmSync(target, { force: true });
        const r = runPython(py.python, job.name, model, target, limit);
        const done = !r.error && existsSync(target);
        results.push({
          name: `py-${job.name}`, label: job.label, task: job.task, tool: 'onnxruntime', wallSeconds: r.seconds, cpuSeconds: r.cpuSeconds, peakRssMB: r.peakRssBytes / MB,
          outputBytes: done ? fileBytes(target) : 0, ...(r.error ? { error: r.error } : {}),
        });
        process.stdout.write(`  ${r.error ? `failed after ${r.seconds.toFixed(1)} s (peak RSS ${(r.peakRssBytes / MB).toFixed(0)} MB): ${r.error}` : `${r.seconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s), peak RSS ${(r.peakRssBytes / MB).toFixed(0)} MB, output ${(fileBytes(target) / GB).toFixed(2)} GB`}\n`);
      }
    } else {
      process.stdout.write("\nno Python with onnxruntime (set ONNX_FORGE_PYTHON): onnxruntime's tools are projected from the BERT-base ratios\n");
    }

    process.stdout.write('\nloading every output in onnxruntime-node against float32 ...\n');
    const outputs = results.filter((r) => !r.error).map((r) => join(out, `${r.name}.onnx`));
    const acc = await runIsolated<{ referenceLoadMs: number; outputs: Record<string, { loadMs: number; cosine: number; greedyAgreement: number }> }>(
      SCRIPT, ['--scenario', 'accuracy', model, String(o.seed), ...outputs], { timeoutMs: 3_600_000 },
    );
    for (const r of results) {
      const a = acc.outputs[join(out, `${r.name}.onnx`)];
      if (a) Object.assign(r, { loadSeconds: a.loadMs / 1000, cosine: a.cosine, greedyAgreement: a.greedyAgreement });
    }
    process.stdout.write(`  float32 loaded in ${(acc.referenceLoadMs / 1000).toFixed(1)} s; ${results.filter((r) => r.cosine !== undefined).map((r) => `${r.name}: cosine ${r.cosine?.toFixed(4)}, greedy ${r.greedyAgreement?.toFixed(3)}`).join('; ')}\n`);

    const ours = results.filter((r) => r.tool === 'onnx-forge');
    const missed = ours.flatMap((r) => [
      ...(r.peakRssMB < TARGET_RSS_MB ? [] : [`${r.name} memory`]),
      ...(r.streamed ? [] : [`${r.name} not streamed`]),
      ...(r.cosine !== undefined ? [] : [`${r.name} did not load`]),
    ]);
    const ratio = (bytes: number) => `${(bytes / modelBytes).toFixed(2)} ×`;
    const TASKS: Record<string, string> = { fp16: 'FP16', int8: 'INT8 (dynamic)', int4: 'INT4 (MatMul weights)' };
    const row = (r: JobResult) => r.error
      ? [TASKS[r.task] ?? r.task, r.label, `fails after ${r.wallSeconds.toFixed(1)} s: ${r.error.replace(/\s+/g, ' ').replace(/\|/g, '\\|')}`, `${r.peakRssMB.toFixed(0)} MB`, '', '']
      : [
          TASKS[r.task] ?? r.task,
          r.label,
          `${r.wallSeconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s)`,
          `${r.peakRssMB.toFixed(0)} MB (${ratio(r.peakRssMB * MB)})`,
          `${(r.outputBytes / GB).toFixed(2)} GB`,
          r.cosine === undefined ? 'did not load' : `cosine ${r.cosine.toFixed(4)}, greedy ${(100 * (r.greedyAgreement ?? 0)).toFixed(1)} %`,
        ];
    const order = (r: JobResult) => Object.keys(TASKS).indexOf(r.task) * 2 + (r.tool === 'onnx-forge' ? 0 : 1);
    const rows = [...results].sort((a, b) => order(a) - order(b)).map(row);
    if (!py) {
      const projected = (task: string, label: string, k: number) => [TASKS[task] ?? task, `${label} (projected, not run)`, '', `≈ ${(k * modelBytes / GB).toFixed(1)} GB (${k} ×, the ratio on BERT-base)`, '', ''];
      rows.push(projected('fp16', "onnxruntime's FP16 converter", PYTHON_PEAK_RATIO.fp16Converter), projected('int8', "onnxruntime's `quantize_dynamic`", PYTHON_PEAK_RATIO.quantizeDynamic));
    }
    const result = {
      topic: 'large',
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model },
      model: { path: model, bytes: modelBytes, seed: o.seed, params: { ...DECODER, layers: o.layers } },
      build,
      cliFloorRssMB: floor.peakRssBytes / MB,
      targets: { peakRssMB: TARGET_RSS_MB },
      runs: results,
      referenceLoadSeconds: acc.referenceLoadMs / 1000,
      prompts: PROMPT,
      python: py ? { python: py.python, onnxruntime: py.onnxruntime, addressSpaceLimitBytes: limit } : { projected: 'issue 15 / survey ratios measured with onnxruntime 1.30 on BERT-base', ...PYTHON_PEAK_RATIO },
      missed,
      readme: await readmeSection({
        title: `Models larger than memory: a ${(modelBytes / GB).toFixed(1)} GB decoder through the command line`,
        command: 'npm run bench -- large',
        tables: [{
          head: [`seeded decoder, ${(modelBytes / GB).toFixed(2)} GB float32 in external data`, 'tool', 'time', 'peak RSS (× model)', 'output', 'onnxruntime-node vs float32'],
          rows,
        }],
        notes: [
          `The decoder: ${o.layers} layers, hidden ${DECODER.hidden}, vocabulary ${DECODER.vocab} (transformerDecoder, seed ${o.seed}), no tensor above 131 MB; built once a tensor at a time${build ? ` (${(build.ms / 1000).toFixed(0)} s, peak RSS ${(build.peakRssBytes / MB).toFixed(0)} MB)` : ''}. Each command is one CLI process (\`--no-verify\`) that streams the weights from the input's files through the pass to the output; its peak RSS is that process's own (the CLI listing its passes: ${(floor.peakRssBytes / MB).toFixed(0)} MB). Target: under ${TARGET_RSS_MB / 1000} GB each.`,
          `Each output then loads in onnxruntime-node (CPU) in another process and answers ${PROMPT.prompts} seeded prompts of ${PROMPT.sequence} tokens; cosine is the lowest over the prompts of the logits against the float32 model's, greedy the share of positions with the same arg-max token.`,
          py
            ? `onnxruntime's Python tools (onnxruntime ${py.onnxruntime}) ran on the same model, each in its own process under a ${(limit / GB).toFixed(0)} GB address-space limit; their peak RSS is that process's. The FP16 converter as called by default runs ONNX shape inference, which serializes the whole model and so cannot pass 2 GB; \`disable_shape_infer=True\` is what such models need. onnx-forge reads each weight twice (once for its statistics, once when written) and flushes its output to disk before renaming it into place; the Python tools read once and do not flush, so on a shared disk wall times depend on the disk as much as on the tool, and CPU time compares the work. On this shared 2-core virtual machine the same command's time can vary by 2 × from one run of the benchmark to the next, so compare rows of one run, not figures across runs.`
            : "onnxruntime's Python tools were not available (set ONNX_FORGE_PYTHON to a Python with onnxruntime, onnx and onnx-ir), so they were not run on this model: their peak memory is the model's size times the ratios measured on BERT-base (quantize_dynamic 3.1 ×, the FP16 converter 4.9 ×; issue 15 and the survey of existing tools).",
        ],
      }),
    };
    const file = saveResult('large', result);
    process.stdout.write(`\n${targetsLine(missed, file)}\n`);
    if (o.strict && missed.length) process.exitCode = 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
