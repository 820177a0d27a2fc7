import { defineConfig } from 'tsup';
import { sharedOptions } from '../../tsup.shared.js';

export default defineConfig({
  ...sharedOptions,
  // bench-child is the process benchIsolated starts; it must sit beside the bundle (dist/bench-child.js).
  // accuracy: the output agreement alone (no Node built-in), for pages that compare outputs in a browser.
  // format: how latencies are written, for the CLI to print without loading the whole package.
  // stats: percentiles and intervals of timings (no Node built-in), for a page that measures in a browser.
  entry: { index: 'src/index.ts', 'bench-child': 'src/measure/bench-child.ts', accuracy: 'src/accuracy/output-accuracy.ts', format: 'src/report/format-latency.ts', stats: 'src/timing-stats.ts' },
  // benchIsolated finds bench-child beside itself through import.meta.url; in the CommonJS build tsup's
  // shim gives it from __filename.
  shims: true,
});
