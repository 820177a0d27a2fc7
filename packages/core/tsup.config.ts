import { defineConfig } from 'tsup';

export default defineConfig({
  // `testing` is its own entry so the main bundle never pulls in node:fs.
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
