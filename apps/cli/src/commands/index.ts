import type { Command } from '../framework/command.js';
import { benchCommand } from './bench.js';
import { checkCommand } from './check.js';
import { compareCommand } from './compare.js';
import { convertCommand } from './convert.js';
import { fp16Command } from './fp16.js';
import { hybridCommand } from './hybrid.js';
import { inspectCommand } from './inspect.js';
import { optimizeCommand } from './optimize.js';
import { passesCommand } from './passes.js';
import { quantizeCommand } from './quantize.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';

/** Every command, in the order the program's help lists them. */
export const COMMANDS: readonly Command[] = [inspectCommand, checkCommand, runCommand, fp16Command, quantizeCommand, convertCommand, hybridCommand, optimizeCommand, benchCommand, compareCommand, serveCommand, passesCommand];
