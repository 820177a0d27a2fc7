import { describe, expect, it } from 'vitest';
import { parseArgs, type ArgSpec, type FlagSpec } from './args.js';
import { UsageError } from './usage-error.js';

const FLAGS: FlagSpec[] = [
  { name: 'output', short: 'o', kind: 'string', description: '' },
  { name: 'json', kind: 'boolean', description: '' },
  { name: 'block-ops', kind: 'list', description: '' },
  { name: 'keep-io-types', kind: 'optional', description: '' },
  { name: 'target', kind: 'string', choices: ['cpu', 'wasm'], description: '' },
];
const ARGS: ArgSpec[] = [{ name: 'model', description: '' }];

const parse = (argv: string[]) => parseArgs(argv, FLAGS, ARGS, 'test');
const usage = (argv: string[]) => {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as UsageError).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it.each([
    [['m.onnx', '-o', 'out.onnx'], 'out.onnx'],
    [['m.onnx', '-o=out.onnx'], 'out.onnx'],
    [['m.onnx', '--output', 'out.onnx'], 'out.onnx'],
    [['--output=out.onnx', 'm.onnx'], 'out.onnx'],
    [['m.onnx', '--output=a=b.onnx'], 'a=b.onnx'],
  ])('reads string flags in every form: %j', (argv, output) => {
    const a = parse(argv);
    expect(a.string('output')).toBe(output);
    expect(a.positionals).toEqual(['m.onnx']);
  });

  it('reads booleans, negations and explicit values', () => {
    expect(parse(['m', '--json']).bool('json')).toBe(true);
    expect(parse(['m', '--no-json']).bool('json')).toBe(false);
    expect(parse(['m', '--json=false']).bool('json')).toBe(false);
    expect(parse(['m']).bool('json')).toBeUndefined();
    expect(usage(['m', '--json=maybe'])).toContain('takes true or false');
  });

  it('gathers list flags from repeats and commas', () => {
    expect(parse(['m', '--block-ops', 'Resize,TopK', '--block-ops=Range', '--block-ops', ' Max , ']).list('block-ops')).toEqual(['Resize', 'TopK', 'Range', 'Max']);
    expect(parse(['m']).list('block-ops')).toEqual([]);
  });

  it('takes an optional value only with =, so the next argument stays positional', () => {
    const bare = parse(['--keep-io-types', 'm.onnx']);
    expect(bare.raw('keep-io-types')).toBe(true);
    expect(bare.positionals).toEqual(['m.onnx']);
    expect(parse(['m', '--keep-io-types=a,b']).raw('keep-io-types')).toBe('a,b');
    expect(parse(['m', '--no-keep-io-types']).raw('keep-io-types')).toBe(false);
  });

  it('treats everything after -- as positional', () => {
    expect(parse(['--', '--json']).positionals).toEqual(['--json']);
  });

  it('rejects what it cannot act on', () => {
    expect(usage(['m', '--outptu', 'x'])).toBe('unknown flag --outptu (did you mean --output?)');
    expect(usage(['m', '-x'])).toBe('unknown flag -x');
    expect(usage(['m', '-o'])).toContain('flag --output needs a value');
    expect(usage(['m', '-o', '--json'])).toContain('flag --output needs a value');
    expect(usage(['m', '--target', 'gpu'])).toBe('flag --target must be one of cpu, wasm, got "gpu"');
    expect(usage(['m', '-o', 'a', '-o', 'b'])).toContain('given twice');
    expect(usage([])).toBe('missing <model>');
    expect(usage(['a', 'b'])).toBe('unexpected argument "b"');
    expect(usage(['m', '--no-output'])).toContain('unknown flag --no-output');
  });

  it('gives a variadic last argument every remaining positional, and still needs one', () => {
    const variadic: ArgSpec[] = [{ name: 'model', description: '', variadic: true }];
    expect(parseArgs(['a.onnx', 'b.onnx', '--json', 'c.onnx'], FLAGS, variadic).positionals).toEqual(['a.onnx', 'b.onnx', 'c.onnx']);
    expect(() => parseArgs([], FLAGS, variadic)).toThrow('missing <model>');
  });
});
