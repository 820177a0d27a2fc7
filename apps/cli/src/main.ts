#!/usr/bin/env node
// Entry point of the onnx-forge command (bin/onnx-forge.js imports the built copy of this file).
import { runCli } from './cli.js';
import { processIo } from './framework/io.js';

// `onnx-forge inspect big.onnx | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await runCli(process.argv.slice(2), processIo());
