#!/usr/bin/env node
// The demo server's process: `node --conditions=@onnx-forge/source --import tsx apps/demo-server/src/main.ts <model> [flags]`
// (what `onnx-forge serve` runs). `--help` or `-h` prints the usage to stdout and exits 0.
// Exits 0 when stopped by SIGTERM/SIGINT, and when it cannot start:
// 2 on a bad command line, 3 when a model is not valid ONNX, 1 for anything else (a missing file, a
// model onnxruntime cannot load), with one line on stderr.
import { errorMessage, isForgeError } from '@onnx-forge/core';
import { HELP, STARTUP_ERRORS_ENV, exitCodeOf, helpRequested, runServer, startupErrorText } from './run-server.js';

const io = { env: process.env, out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
if (helpRequested(process.argv.slice(2))) {
  // Exit once stdout is flushed: a pipe (`onnx-forge-server --help | head`) must get all of it.
  process.stdout.write(`${HELP}\n`, () => process.exit(0));
} else {
  try {
    const running = await runServer(process.argv.slice(2), io);
    // Worker threads are unref'd by the pool; exiting here ends any that are still finishing compiles.
    process.exit(await running.stopped);
  } catch (e) {
    const code = exitCodeOf(e);
    if (process.env[STARTUP_ERRORS_ENV] === 'ipc' && process.send && isForgeError(e)) {
      // Started by `onnx-forge serve`, which asks for this: the CLI reports the error as its own, one line
      // with the code (or JSON with --json), and exits with the code of its table. Only the first line of
      // the message: the rest is this program's usage, not the CLI's. Details: plain values only.
      const details = Object.fromEntries(Object.entries(e.details).filter(([k, v]) => k !== 'status' && ['string', 'number', 'boolean'].includes(typeof v)));
      process.send({ startupError: { code: e.code, message: errorMessage(e).split('\n')[0], details } }, () => process.exit(code));
    } else {
      io.err(`demo-server: ${startupErrorText(e)}`);
      process.exit(code);
    }
  }
}
