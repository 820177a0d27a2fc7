// Prints probeInt8Arithmetic() as one JSON line (run under valgrind by int8-arithmetic.test.ts).
import { probeInt8Arithmetic } from '../int8-arithmetic.js';

process.stdout.write(`${JSON.stringify(await probeInt8Arithmetic())}\n`);
