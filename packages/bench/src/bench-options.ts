import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

/** The options of a repeated benchmark: `--reps N` (at least 1), `--seed N`, `--strict` (exit 1 on a missed target). */
export interface BenchOptions {
  reps: number;
  seed: number;
  strict: boolean;
}

/**
 * Parses `--reps N --seed N --strict`, plus the integer options of `extra` (`{ runs: { value: 20, min: 3 } }`
 * adds `--runs N`, default 20, at least 3); `defaults` gives the values of options not on the command line.
 */
export function parseBenchOptions<X extends string = never>(
  argv: readonly string[], defaults: BenchOptions, extra: Readonly<Record<X, { value: number; min: number }>> = {} as Record<X, never>,
): BenchOptions & Record<X, number> {
  const o: Record<string, number | boolean> = { ...defaults };
  const floors: Record<string, number> = { reps: 1 };
  for (const [k, { value, min }] of Object.entries(extra) as [string, { value: number; min: number }][]) {
    o[k] = value;
    floors[k] = min;
  }
  const numeric = ['reps', ...Object.keys(extra), 'seed'];
  const usage = `${numeric.map((k) => `--${k} N`).join(', ')}, --strict`;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const key = a.slice(2);
    if (a === '--strict') o.strict = true;
    else if (a.startsWith('--') && numeric.includes(key)) {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--${key} takes an integer, got ${argv[i]}`);
      const floor = floors[key];
      o[key] = floor === undefined ? v : Math.max(floor, v);
    } else {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `unknown option ${a} (use ${usage})`);
    }
  }
  return o as BenchOptions & Record<X, number>;
}
