#!/usr/bin/env node
// A committed, executable launcher (as apps/cli/bin): npm links `bin` entries at install time, before
// any build, so the link must point at a file that exists; the server itself is the built dist/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(
    'onnx-forge-server: the server is not built yet. Run "npm run build" at the repository root, or run it from sources:\n' +
      '  node --conditions=@onnx-forge/source --import tsx apps/demo-server/src/main.ts <model> ...\n',
  );
  process.exit(1);
}
await import(built.href);
