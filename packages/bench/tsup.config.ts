import { defineConfig } from 'tsup';

export default defineConfig({
  // bench-child is the process benchIsolated starts; it must sit beside the bundle (dist/bench-child.js).
  entry: { index: 'src/index.ts', 'bench-child': 'src/measure/bench-child.ts' },
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so every entry of the package holds one copy of each module.
  splitting: true,
  // benchIsolated finds bench-child beside itself through import.meta.url; in the CommonJS build tsup's
  // shim gives it from __filename.
  shims: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
