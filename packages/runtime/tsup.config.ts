import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  // The pool's worker is its own entry: createPool starts dist/pool-worker.js, found next to the chunk
  // holding the pool code (see locateWorker).
  // The Node backend is an entry too, so its file keeps one name (dist/node-backend.js, not a hashed
  // chunk): package.json's "browser" field maps it to nothing, and a user's browser bundler (esbuild,
  // Vite, webpack) then never reaches its static imports of Node built-ins and onnxruntime-node.
  entry: ['src/index.ts', 'src/pool-worker.ts', 'src/testing/index.ts', 'src/node-backend.ts'],
  // locateWorker and the Node backend read import.meta.url; in the CommonJS build tsup's shim gives it
  // from __filename (the chunk in dist/), so the worker is still found beside it.
  shims: true,
  // The testing entry's page helper loads these when a page opens, from the workspace that runs the test.
  external: ['esbuild', 'playwright-core'],
});
