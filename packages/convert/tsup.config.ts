import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  // The mljs backend is its own entry, so the main bundle stays free of it (and of anything but core).
  entry: { index: 'src/index.ts', 'mljs-backend/index': 'src/mljs-backend/index.ts' },
  target: 'es2022',
});
