#!/usr/bin/env node
// Entry point of the onnx-forge command (bin/onnx-forge.js imports the built copy of this file).
import { hugePagesEnv, relaunch } from './huge-pages.js';

const relaunchEnv = hugePagesEnv(process.argv.slice(2), process.env);
if (relaunchEnv) {
  // Large input on Linux: run again with glibc's huge pages (see huge-pages.ts); the child does the work.
  process.exitCode = await relaunch(relaunchEnv);
} else {
  if (process.env.ONNX_FORGE_DEBUG && process.env.GLIBC_TUNABLES) {
    const { getHeapStatistics } = await import('node:v8');
    process.stderr.write(`onnx-forge: GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}, heap limit ${Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)} MB\n`);
  }
  const [{ runCli, writesFiles }, { processIo }] = await Promise.all([import('./cli.js'), import('./framework/io.js')]);
  // `onnx-forge inspect big.onnx | head` closes the pipe early: that is the reader's choice, not an error,
  // and a command that only prints stops there. One that writes files goes on, its further output
  // dropped: `fp16 m.onnx -o out.onnx 2>&1 | head -1` exited 0 after the first line, writing nothing.
  const finish = writesFiles(process.argv.slice(2));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      if (!finish) process.exit(process.exitCode ?? 0);
    });
  }
  process.exitCode = await runCli(process.argv.slice(2), processIo());
}
