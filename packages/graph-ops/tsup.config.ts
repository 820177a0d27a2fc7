import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts'],
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so every entry of the package holds one copy of each module.
  splitting: true,
  // The ./testing helpers locate the packaged real models through import.meta.url; in the CommonJS
  // build tsup's shim gives it from __filename.
  shims: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
