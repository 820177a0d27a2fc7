import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  entry: ['src/index.ts'],
});
