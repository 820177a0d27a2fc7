import { describe, expect, it } from 'vitest';
import { runCliInProcess as cli } from '../testing/cli-in-process.js';
import { defineCommand } from './command.js';

/** A command that prints what it was given. */
const echo = defineCommand({
  name: 'echo',
  summary: 'prints its arguments',
  args: [{ name: 'model', description: 'a file' }],
  flags: [
    { name: 'output', short: 'o', kind: 'string', valueName: 'FILE', description: 'out' },
    { name: 'clamp', kind: 'boolean', negatable: true, description: 'a switch', defaultText: 'on' },
    { name: 'no-check', kind: 'boolean', description: 'turn checking off' },
    { name: 'block-ops', kind: 'list', valueName: 'OPS', description: 'a list' },
    { name: 'keep-io-types', kind: 'optional', valueName: 'NAMES', description: 'true or names' },
    { name: 'target', kind: 'string', valueName: 'TARGET', choices: ['cpu', 'wasm'], description: 'where' },
  ],
  async run(ctx) {
    const names = ['output', 'clamp', 'no-check', 'block-ops', 'keep-io-types', 'target', 'json', 'quiet'];
    ctx.print(JSON.stringify({ positionals: ctx.args.positionals, flags: Object.fromEntries(names.filter((n) => ctx.args.has(n)).map((n) => [n, ctx.args.raw(n)])) }));
  },
});

const many = defineCommand({
  name: 'many',
  summary: 'takes several models',
  args: [{ name: 'model', description: 'files', variadic: true }],
  flags: [{ name: 'reference', kind: 'string', valueName: 'MODEL', description: 'one of them' }],
  async run(ctx) {
    ctx.print(JSON.stringify({ positionals: ctx.args.positionals, reference: ctx.args.string('reference') }));
  },
});

const parsed = async (argv: string[]) => {
  const r = await cli(argv, [echo, many]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { positionals: string[]; flags: Record<string, unknown>; reference?: string };
};

const usage = async (argv: string[]) => {
  const r = await cli(argv, [echo, many]);
  expect(r.code, r.stdout).toBe(2);
  expect(r.stderr.split('\n')).toHaveLength(2);
  return r.stderr;
};

describe('the commander program', () => {
  it.each([
    [['echo', 'm.onnx', '-o', 'out.onnx']],
    [['echo', 'm.onnx', '--output', 'out.onnx']],
    [['echo', '--output=out.onnx', 'm.onnx']],
  ])('reads string flags in every form: %j', async (argv) => {
    expect(await parsed(argv)).toEqual({ positionals: ['m.onnx'], flags: { output: 'out.onnx' } });
  });

  it('reads switches, their --no- forms and switches that turn something off', async () => {
    expect((await parsed(['echo', 'm', '--clamp'])).flags).toEqual({ clamp: true });
    expect((await parsed(['echo', 'm', '--no-clamp'])).flags).toEqual({ clamp: false });
    expect((await parsed(['echo', 'm'])).flags).toEqual({});
    expect((await parsed(['echo', 'm', '--no-check', '--json', '-q'])).flags).toEqual({ 'no-check': true, json: true, quiet: true });
  });

  it('gathers list flags from repeats and commas', async () => {
    expect((await parsed(['echo', 'm', '--block-ops', 'Resize,TopK', '--block-ops=Range', '--block-ops', ' Max , '])).flags).toEqual({ 'block-ops': ['Resize', 'TopK', 'Range', 'Max'] });
  });

  it('takes an optional value only with =, so the next argument stays positional', async () => {
    expect(await parsed(['echo', '--keep-io-types', 'm.onnx'])).toEqual({ positionals: ['m.onnx'], flags: { 'keep-io-types': true } });
    expect((await parsed(['echo', 'm', '--keep-io-types=a,b'])).flags).toEqual({ 'keep-io-types': 'a,b' });
    expect((await parsed(['echo', 'm', '--no-keep-io-types'])).flags).toEqual({ 'keep-io-types': false });
    // After --, nothing is a flag.
    expect(await parsed(['echo', '--', '--keep-io-types'])).toEqual({ positionals: ['--keep-io-types'], flags: {} });
  });

  it('gives a variadic argument every remaining positional, and still needs one', async () => {
    expect(await parsed(['many', 'a.onnx', 'b.onnx', '--reference', 'a.onnx', 'c.onnx'])).toEqual({ positionals: ['a.onnx', 'b.onnx', 'c.onnx'], reference: 'a.onnx' });
    expect(await usage(['many'])).toBe("onnx-forge many: error FORGE_INVALID_OPTIONS: missing required argument 'model' (see: onnx-forge many --help)\n");
  });

  it('refuses what it cannot act on with exit 2 and one line', async () => {
    expect(await usage(['echo', 'm', '--outptu', 'x'])).toContain("unknown option '--outptu' (Did you mean --output?)");
    expect(await usage(['echo', 'm', '-x'])).toContain("unknown option '-x'");
    expect(await usage(['echo', 'm', '-o'])).toContain("option '-o, --output <FILE>' argument missing");
    expect(await usage(['echo', 'm', '--target', 'gpu'])).toContain("option '--target <TARGET>' argument 'gpu' is invalid. Allowed choices are cpu, wasm.");
    expect(await usage(['echo', 'a', 'b'])).toContain("too many arguments for 'echo'");
    expect(await usage(['echo', 'm', '--no-output'])).toContain("unknown option '--no-output'");
    expect(await usage(['eco', 'm'])).toBe("onnx-forge: error FORGE_INVALID_OPTIONS: unknown command 'eco' (Did you mean echo?) (see: onnx-forge --help)\n");
    expect(await usage(['help', 'eco'])).toContain("unknown command 'eco' (Did you mean echo?)");
  });

  it('documents each flag with its value, default and choices, and --no- forms', async () => {
    const r = await cli(['echo', '--help'], [echo]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--keep-io-types\[=NAMES\]\s+true or names/);
    expect(r.stdout).toMatch(/--clamp\s+a switch \(default: on\); --no-clamp turns it off/);
    expect(r.stdout).toMatch(/--target <TARGET>\s+where \(choices: "cpu", "wasm"\)/);
    expect(r.stdout).toMatch(/--no-check\s+turn checking off/);
    expect(r.stdout).not.toMatch(/^\s+--no-clamp/m);
    expect((await cli(['help', 'echo'], [echo])).stdout).toBe(r.stdout);
  });
});
