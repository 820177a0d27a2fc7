#!/usr/bin/env node
// The demo server's process: `node --conditions=@onnx-forge/source --import tsx apps/demo-server/src/main.ts <model> [flags]`
// (what `onnx-forge serve` runs). Exits 0 when stopped by SIGTERM/SIGINT, 2 on a bad command line, 1 when
// the models cannot be read.
import { ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { runServer } from './run-server.js';

const io = { env: process.env, out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
try {
  const running = await runServer(process.argv.slice(2), io);
  // Worker threads are unref'd by the pool; exiting here ends any that are still finishing compiles.
  process.exit(await running.stopped);
} catch (e) {
  io.err(`demo-server: ${errorMessage(e)}`);
  // 2 for a command line it cannot act on (as the onnx-forge CLI), 1 for anything else (a missing file).
  process.exit(isForgeError(e, ForgeErrorCode.INVALID_OPTIONS) ? 2 : 1);
}
