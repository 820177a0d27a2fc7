/**
 * The process benchIsolated starts: reads a ChildSpec (JSON) from stdin, measures that one model with
 * benchModels in this otherwise idle process, and prints the model's entry with this process's peak
 * resident memory after a mark on stdout.
 */
import { peakRssBytes } from '../isolate.js';
import { benchModels } from './bench-models.js';
import { RESULT_MARK, type ChildSpec } from './isolated-bench.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

const spec = JSON.parse(await readStdin()) as ChildSpec;
const baseline = process.memoryUsage.rss();
const result = await benchModels([spec.file], { ...spec.options, names: [spec.name] });
const model = result.models[0];
if (model?.memory) model.memory = { ...model.memory, scope: 'isolated', peakRssBytes: peakRssBytes(), baselineRssBytes: baseline };
process.stdout.write(`${RESULT_MARK}${JSON.stringify(model)}\n`);
