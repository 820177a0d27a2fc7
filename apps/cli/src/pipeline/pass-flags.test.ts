import { definePass } from '@onnx-forge/core';
import { fp16Pass, int8Dynamic } from '@onnx-forge/graph-ops';
import { describe, expect, it } from 'vitest';
import { defineCommand } from '../framework/command.js';
import { runCliInProcess } from '../testing/cli-in-process.js';
import { kebabCase, passFlags, passOptionsFromFlags } from './pass-flags.js';

interface DemoOptions {
  level: number;
  shape: 'round' | 'square';
  loud: boolean;
  quiet: boolean;
  names: string[];
  keepIoTypes: boolean | string[];
  maxMB: number;
}

/** A pass as a plugin would write it: its options exist only in its spec. */
const demoPass = definePass<DemoOptions>({
  name: 'demo-options',
  description: 'a pass with one option of each kind',
  options: {
    level: { type: 'integer', default: 2, description: 'how hard to try', validate: (v) => (v >= 1 && v <= 5 ? undefined : 'must be from 1 to 5') },
    shape: { type: { enum: ['round', 'square'] }, default: 'round', description: 'which shape' },
    loud: { type: 'boolean', default: true, description: 'say a lot' },
    quiet: { type: 'boolean', default: false, description: 'say little' },
    names: { type: 'string[]', default: [], description: 'names to look at' },
    keepIoTypes: { type: ['boolean', 'string[]'], default: false, description: 'all, or the names given' },
    maxMB: { type: 'number', default: 64, description: 'memory bound' },
  },
  check: (o) => (o.loud && o.quiet ? 'loud and quiet contradict each other' : undefined),
  run: () => {},
});

const FLAGS = passFlags(demoPass, { rename: { quiet: 'hush' } });

/** Builds the pass from its generated flags and prints the options it got. */
const demoCommand = defineCommand({
  name: 'demo',
  summary: 'configures the demo pass from flags',
  args: [],
  flags: FLAGS,
  async run(ctx) {
    ctx.printJson(demoPass.fromText(passOptionsFromFlags(ctx.args, FLAGS)).options);
  },
});

const demo = (argv: string[]) => runCliInProcess(['demo', ...argv], [demoCommand]);

describe('pass flags generated from option specs', () => {
  it('names flags in kebab case', () => {
    expect(['keepIoTypes', 'blockOps', 'calibrationMemoryMB', 'isa', 'maxMB'].map(kebabCase)).toEqual(['keep-io-types', 'block-ops', 'calibration-memory-mb', 'isa', 'max-mb']);
  });

  it('lists every option of the pass in --help, with its description, default and choices', async () => {
    const r = await demo(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('demo-options pass options:');
    expect(r.stdout).toMatch(/--level <N>\s+how hard to try \(default: 2\)/);
    expect(r.stdout).toMatch(/--shape <SHAPE>\s+which shape \(default: round\) \(choices: "round", "square"\)/);
    expect(r.stdout).toMatch(/--loud\s+say a lot \(default: on\); --no-loud turns it off/);
    expect(r.stdout).toMatch(/--hush\s+say little \(default: off\)\n/);
    expect(r.stdout).toMatch(/--names <NAMES>\s+names to look at\n/);
    expect(r.stdout).toMatch(/--keep-io-types\[=A,B\]\s+all, or the names given \(default: off\)/);
    expect(r.stdout).toMatch(/--max-mb <N>\s+memory bound \(default: 64\)/);
  });

  it('hands the values to the pass, which types them and fills in its defaults', async () => {
    const r = await demo(['--level', '4', '--shape', 'square', '--no-loud', '--hush', '--names', 'a,b', '--names', 'c', '--keep-io-types=x,y', '--max-mb', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ level: 4, shape: 'square', loud: false, quiet: true, names: ['a', 'b', 'c'], keepIoTypes: ['x', 'y'], maxMB: 0.5 });
    expect(JSON.parse((await demo(['--keep-io-types'])).stdout)).toEqual({ level: 2, shape: 'round', loud: true, quiet: false, names: [], keepIoTypes: true, maxMB: 64 });
  });

  it('leaves validation to the pass: a bad value is its FORGE_INVALID_OPTIONS, exit 2, one line', async () => {
    const cases: [string[], string][] = [
      [['--level', '9'], 'pass "demo-options": option "level": must be from 1 to 5'],
      [['--level', '2.5'], 'pass "demo-options": option "level" must be integer, got "2.5"'],
      [['--max-mb', 'lots'], 'pass "demo-options": option "maxMB" must be number, got "lots"'],
      [['--hush'], 'pass "demo-options": loud and quiet contradict each other'],
    ];
    for (const [argv, message] of cases) {
      const r = await demo(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toBe(`onnx-forge demo: error FORGE_INVALID_OPTIONS: ${message}\n`);
    }
    const choice = await demo(['--shape', 'oval']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain("argument 'oval' is invalid. Allowed choices are round, square.");
  });

  it('covers every option of the built-in passes the commands expose', () => {
    expect(passFlags(fp16Pass).map((f) => f.option).sort()).toEqual(Object.keys(fp16Pass.optionSpecs).sort());
    expect(passFlags(int8Dynamic).map((f) => f.name)).toEqual(expect.arrayContaining(['weight-type', 'per-channel', 'reduce-range', 'isa', 'exclude-nodes', 'target']));
  });
});
