/**
 * The process benchIsolated starts: reads a ChildSpec (JSON) from stdin, measures that one model with
 * benchModels in this otherwise idle process, and prints the model's entry with this process's peak
 * resident memory after a mark on stdout.
 */
import { peakRssBytes } from '../isolate.js';
import { benchModels } from './bench-models.js';
import { PARENT_ENV, RESULT_MARK, type ChildSpec } from './isolated-bench.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

// The process that started this one died (a signal sent to it alone: kill, timeout, a CI cancel): stop,
// rather than go on measuring for no one as an orphan. Its pid comes from the environment, as it may have
// died before this module even ran. Checked, not waited for: the timer keeps nothing alive.
const parent = Number(process.env[PARENT_ENV]) || process.ppid;
const orphaned = () => process.ppid !== parent;
if (orphaned()) process.exit(1);
setInterval(() => {
  if (orphaned()) process.exit(1);
}, 250).unref();

const spec = JSON.parse(await readStdin()) as ChildSpec;
const baseline = process.memoryUsage.rss();
const result = await benchModels([spec.file], { ...spec.options, names: [spec.name] });
const model = result.models[0];
if (model?.memory) model.memory = { ...model.memory, scope: 'isolated', peakRssBytes: peakRssBytes(), baselineRssBytes: baseline };
process.stdout.write(`${RESULT_MARK}${JSON.stringify(model)}\n`);
