import { defineConfig } from 'tsup';

// The CLI is an application: one ESM entry, no declarations. Workspace packages stay external
// (they are dependencies), so the bundle uses their built dist.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
