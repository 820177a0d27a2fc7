import { defineConfig } from 'tsup';

export default defineConfig({
  // The mljs backend is its own entry, so the main bundle stays free of it (and of anything but core).
  entry: { index: 'src/index.ts', 'mljs-backend/index': 'src/mljs-backend/index.ts' },
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so every entry of the package holds one copy of each module.
  splitting: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
