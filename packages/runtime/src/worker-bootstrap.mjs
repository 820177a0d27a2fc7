// Starts a pool worker from the TypeScript sources (vitest, tsx): registers tsx's loader and the
// workspace's source export condition inside the worker, then imports the .ts entry. Worker threads do
// not run `--import` from their execArgv, so this cannot be left to flags. The built package (dist/)
// starts dist/pool-worker.js directly and never loads this file.
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const addSourceCondition = `export async function resolve(specifier, context, next) {
  const c = context.conditions;
  return next(specifier, c.includes('@onnx-forge/source') ? context : { ...context, conditions: [...c, '@onnx-forge/source'] });
}`;
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
await import(workerData.entry);
