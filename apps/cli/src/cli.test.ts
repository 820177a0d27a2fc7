import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { defineCommand } from './framework/command.js';
import { COMMANDS } from './commands/index.js';
import { runCliInProcess as cli } from './testing/cli-in-process.js';
import { tempDir, writeMlp } from './testing/fixtures.js';

const crashing = defineCommand({
  name: 'crash',
  summary: 'throws what it is told to',
  args: [{ name: 'kind', description: 'forge or bug' }],
  flags: [],
  async run(ctx) {
    if (ctx.args.positional(0) === 'forge') throw new ForgeError(ForgeErrorCode.RUNTIME, 'onnxruntime said no\nwith a second line', { details: { big: 1n } });
    throw new TypeError('cannot read properties of undefined');
  },
});

describe('runCli', () => {
  it('prints the version and the help of the program and of each command', async () => {
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c.name} `);
    // The one-line description covers what the commands do, serving and measuring included.
    expect(help.stdout).toContain('inspect, check, convert, quantize, measure and serve ONNX models');
    for (const c of COMMANDS) {
      const viaFlag = await cli([c.name, '--help']);
      const viaHelp = await cli(['help', c.name]);
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.stdout).toBe(viaHelp.stdout);
      expect(viaFlag.stdout).toContain(`Usage: onnx-forge ${c.name}`);
      expect(viaFlag.stdout).toContain('--json');
      expect(viaFlag.stdout).toContain('Exit codes:');
      for (const line of viaFlag.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    }
    expect((await cli(['help', 'nope'])).code).toBe(2);
  });

  it('reports a ForgeError as one line with its code, or as a JSON error document', async () => {
    const text = await cli(['crash', 'forge'], [crashing]);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe('onnx-forge crash: error FORGE_RUNTIME: onnxruntime said no with a second line\n');
    const json = await cli(['crash', 'forge', '--json'], [crashing]);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'FORGE_RUNTIME', message: 'onnxruntime said no with a second line', details: { big: 1 } } });
  });

  it('points a usage error raised outside the command\'s own code (a plugin that is not found) at that command\'s help', async () => {
    const r = await cli(['passes', '--plugin', 'no-such-forge-plugin']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^onnx-forge passes: error FORGE_INVALID_OPTIONS: plugin package "no-such-forge-plugin" not found .*\(see: onnx-forge passes --help\)$/m);
  });

  it('calls anything else an internal error, with the stack only on request', async () => {
    const quiet = await cli(['crash', 'bug'], [crashing]);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toBe('onnx-forge crash: internal error: cannot read properties of undefined (set ONNX_FORGE_DEBUG=1 to see the stack trace, and please report it)\n');
    const debug = await cli(['crash', 'bug'], [crashing], { ONNX_FORGE_DEBUG: '1' });
    expect(debug.stderr).toMatch(/\n\s+at /);
    const json = await cli(['crash', 'bug', '--json'], [crashing]);
    expect(JSON.parse(json.stdout).error.code).toBe('FORGE_INTERNAL');
  });

  it('refuses --dims beside a folder of samples in fp16, quantize and run, as bench, compare and hybrid do: the folder keeps its own shapes', async () => {
    const tmp = tempDir();
    try {
      const model = await writeMlp(path.join(tmp.dir, 'mlp.onnx'));
      const dir = path.join(tmp.dir, 'samples');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'sample.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 16], data: Array.from({ length: 16 }, (_, i) => i / 16) } }));
      const out = path.join(tmp.dir, 'out.onnx');
      const cases: [string[], string][] = [
        [['fp16', model, '-o', out, '--inputs', dir], '--inputs'],
        [['quantize', model, '-o', out, '--inputs', dir], '--inputs'],
        [['quantize', model, '-o', out, '--mode', 'static', '--calibration', dir], '--calibration'],
        [['quantize', model, '-o', out, '--tolerance', '0.99', '--inputs', dir], '--inputs'],
        [['run', model, '-o', out, '--pipeline', 'int8-auto', '--calibration', dir], '--calibration'],
        [['run', model, '-o', out, '--pipeline', 'int8-static', '--inputs', dir], '--inputs'],
      ];
      for (const [args, folder] of cases) {
        const r = await cli([...args, '--dims', 'batch=2']);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`error FORGE_INVALID_OPTIONS: --dims sizes seeded inputs, and ${folder} gives samples of their own shapes instead`);
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('wants a command before flags', async () => {
    const r = await cli(['--quiet', 'inspect']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("onnx-forge: error FORGE_INVALID_OPTIONS: unknown option '--quiet' (see: onnx-forge --help)\n");
    const json = await cli(['--json', 'inspect']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('FORGE_INVALID_OPTIONS');
  });
});
