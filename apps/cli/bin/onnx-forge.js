#!/usr/bin/env node
// A committed, executable launcher: npm links `bin` entries at install time, before any build, so the
// link must point at a file that exists and keeps its mode; the CLI itself is the built dist/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(
    'onnx-forge: the CLI is not built yet. Run "npm run build" at the repository root, or run it from sources:\n' +
      '  node --conditions=@onnx-forge/source --import tsx apps/cli/src/main.ts <command> ...\n',
  );
  process.exit(1);
}
await import(built.href);
