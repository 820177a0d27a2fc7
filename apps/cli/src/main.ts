#!/usr/bin/env node
// Entry point of the onnx-forge command (bin/onnx-forge.js imports the built copy of this file).
import { runCli } from './cli.js';
import { processIo } from './framework/io.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
