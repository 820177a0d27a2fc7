// Settings every package's vitest config shares: resolve workspace packages to their TypeScript
// sources (the "@onnx-forge/source" export condition) so tests never need a build.
import { defineConfig } from 'vitest/config';

export const sharedConfig = defineConfig({
  resolve: { conditions: ['@onnx-forge/source'] },
  ssr: { resolve: { conditions: ['@onnx-forge/source'] } },
  test: {
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
