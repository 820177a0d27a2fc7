import { defineConfig } from 'tsup';

export default defineConfig({
  // bench-child is the process benchIsolated starts; it must sit beside the bundle (dist/bench-child.js).
  entry: { index: 'src/index.ts', 'bench-child': 'src/measure/bench-child.ts' },
  format: ['esm'],
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
