import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  entry: ['src/index.ts', 'src/testing/index.ts'],
  // The ./testing helpers locate the packaged real models through import.meta.url; in the CommonJS
  // build tsup's shim gives it from __filename.
  shims: true,
});
