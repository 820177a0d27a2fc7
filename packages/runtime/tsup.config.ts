import { defineConfig } from 'tsup';

export default defineConfig({
  // The pool's worker is its own entry: createPool starts dist/pool-worker.js, found next to the chunk
  // holding the pool code (see locateWorker).
  entry: ['src/index.ts', 'src/pool-worker.ts', 'src/testing/index.ts'],
  format: ['esm'],
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
