import { copyFile, mkdir } from 'node:fs/promises';
import { defineConfig } from 'tsup';

// The server as an installable app: dist/main.js is its bin (`onnx-forge-server`, and what `onnx-forge
// serve` starts when the CLI is installed from npm). The workspace packages stay external (they are
// dependencies). The page bundle (dist/page/app.js and worker.js) is written after this by scripts/build-page.ts;
// its HTML goes beside it, where page-bundle.ts looks for both when running from dist/. The codec worker
// (large JSON requests and responses, see CodecPool) is its own entry, dist/codec-worker.js, found beside
// the chunk holding the pool code.
export default defineConfig({
  entry: { main: 'src/main.ts', 'codec-worker': 'src/protocol/codec-worker.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
  async onSuccess() {
    await mkdir('dist/page', { recursive: true });
    await copyFile('src/page/index.html', 'dist/page/index.html');
  },
});
