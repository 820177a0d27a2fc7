// `npm start` at the repository root: bundles the page if needed, makes the sample model and its
// variants on the first start (cached under node_modules/.cache/onnx-forge, or $ONNX_FORGE_CACHE), and
// serves them on http://localhost:8080 ($PORT or --port). Extra arguments go to the server:
// `npm start -- --port 9000 --no-batching`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePage } from '../src/page-bundle.js';
import { HELP, exitCodeOf, helpRequested, runServer, startupErrorText } from '../src/run-server.js';
import { ensureSampleRepository } from '../src/sample/sample-repository.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cache = process.env.ONNX_FORGE_CACHE ?? path.join(root, 'node_modules/.cache/onnx-forge');
const io = { env: process.env, out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
if (helpRequested(process.argv.slice(2))) {
  // `npm start -- --help`: the server's options (the model is the sample), without making anything.
  process.stdout.write(`${HELP}\n`, () => process.exit(0));
} else {
  try {
    await ensurePage();
    const repository = await ensureSampleRepository(path.join(cache, 'demo-server'), (l) => io.err(`demo-server: ${l}`));
    const running = await runServer([repository, ...process.argv.slice(2)], io);
    process.exit(await running.stopped);
  } catch (e) {
    io.err(`npm start: ${startupErrorText(e)}`);
    process.exit(exitCodeOf(e));
  }
}
