// `npm start` at the repository root: builds a small seeded BERT-style encoder with the model builder,
// writes it under node_modules/.cache (git-ignored, and present after `npm install`), and runs
// `onnx-forge inspect` on it from the TypeScript sources, so it works without a build step.
// Extra arguments are passed on: `npm start -- --json`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnx, transformerEncoder, writeModel } from '@onnx-forge/core';
import { runCli } from '../src/cli.js';
import { processIo } from '../src/framework/io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = path.join(root, 'node_modules/.cache/onnx-forge');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'sample-encoder.onnx');

const model = transformerEncoder({ layers: 2, hidden: 64, heads: 4, intermediate: 256, vocab: 1000, pooler: true, seed: 1 });
model.proto.metadataProps.push(
  new onnx.StringStringEntryProto({ key: 'description', value: 'onnx-forge sample: a seeded 2-layer BERT-style encoder built by transformerEncoder()' }),
);
await writeModel(model, file);

process.exitCode = await runCli(['inspect', path.relative(process.cwd(), file), ...process.argv.slice(2)], processIo());
