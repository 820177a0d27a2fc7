// `int8-paths-main.ts <dir>`: prints measureInt8Paths(dir) as one JSON line (the INT8 CPU-path test
// runs this under valgrind, where onnxruntime takes its AVX2 kernels).
import { probeInt8Arithmetic } from '@onnx-forge/runtime';
import { measureInt8Paths } from './int8-paths.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: int8-paths-main.ts <dir>');
const [probe, results] = [await probeInt8Arithmetic(), await measureInt8Paths(dir)];
process.stdout.write(`${JSON.stringify({ arithmetic: probe.arithmetic, results })}\n`);
