import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // The declaration build cannot use composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
