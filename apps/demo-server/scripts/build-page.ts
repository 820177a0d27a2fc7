// `npm run build -w @onnx-forge/demo-server`: bundles the browser page into dist/page/app.js.
import { buildPage } from '../src/page-bundle.js';

const { file, bytes, ms } = await buildPage();
process.stdout.write(`${file}: ${(bytes / 1024).toFixed(0)} kB in ${Math.round(ms)} ms\n`);
