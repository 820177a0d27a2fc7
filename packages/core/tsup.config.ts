import { defineConfig } from 'tsup';

export default defineConfig({
  // `testing` is its own entry so the main bundle never pulls in node:fs.
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so `./testing` and the main entry hold one copy of each class.
  splitting: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
