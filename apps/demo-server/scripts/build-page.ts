// `npm run build -w @onnx-forge/demo-server`: bundles the browser page into dist/page/ (app.js and worker.js).
import { buildPage } from '../src/page-bundle.js';

const { files, ms } = await buildPage();
for (const { file, bytes } of files) process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} kB\n`);
process.stdout.write(`in ${Math.round(ms)} ms\n`);
