/**
 * A child process for the streamed-weights memory test: opens a model lazily (core's `openModel`),
 * runs one weight pass and writes the result with external data, then prints its peak resident set
 * size as JSON. `baseline` only loads the packages: the floor under the figure.
 *
 *   node --conditions=@onnx-forge/source --import tsx stream-convert-main.ts <fp16|int8-dynamic|int4|baseline> <in.onnx> <out.onnx>
 */
import { openModel, runPass, writeModel } from '@onnx-forge/core';
import { fp16Pass } from '../fp16/fp16-pass.js';
import { int4 } from '../quant/int4/int4.js';
import { int8Dynamic } from '../quant/int8-dynamic.js';

const [pass = '', input = '', output = ''] = process.argv.slice(2);
const passes = { fp16: () => fp16Pass({ keepIoTypes: true }), 'int8-dynamic': () => int8Dynamic({}), int4: () => int4({}) } as const;
let written = 0;
if (pass !== 'baseline') {
  const make = passes[pass as keyof typeof passes];
  if (!make) throw new Error(`unknown pass ${pass}`);
  const model = await openModel(input);
  await runPass(make() as Parameters<typeof runPass>[0], model);
  const r = await writeModel(model, output, { externalData: true });
  written = r.bytes + (r.externalData?.bytes ?? 0);
}
process.stdout.write(`${JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024, written })}\n`);
