import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  // `testing` is its own entry so the main bundle never pulls in node:fs.
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
});
