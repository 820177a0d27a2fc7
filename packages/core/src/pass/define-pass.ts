import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { PassContext } from './pass-context.js';
import type { AnalysisKey } from '../ir/analysis.js';
import type { ServiceKey } from './service.js';

export type OptionType = 'boolean' | 'number' | 'integer' | 'string' | 'string[]' | 'number[]' | { enum: readonly string[] };

export interface OptionSpec<T> {
  /** One type, or several accepted forms (e.g. keepIoTypes: boolean or a list of names). */
  type: OptionType | readonly OptionType[];
  default: T;
  description: string;
  /** Extra validation; return a message for a bad value. */
  validate?: (value: T) => string | undefined;
}

export type OptionSpecs<O> = { [K in keyof O]: OptionSpec<O[K]> };

export interface PassSpec<O extends object> {
  /** Name used in pipelines (`fp16{keepIoTypes=true}`): lower-case, digits and dashes. */
  name: string;
  description: string;
  options: OptionSpecs<O>;
  /**
   * Checks the options together, once they are filled in and each is valid on its own (lists that
   * contradict each other); returns a message for a bad combination.
   */
  check?(options: Readonly<O>): string | undefined;
  /** Services the pass needs from its caller (RUNNER, SAMPLES); the PassManager checks them before running. */
  services?: readonly ServiceKey<unknown>[];
  /** Analyses the pass leaves true although it changes the graph (a sort keeps element types). */
  preserves?: readonly AnalysisKey<unknown>[];
  /**
   * Transforms the model in place. Passes hold no state between runs: everything they need comes
   * through `options` and `ctx`. Edit through Graph's methods, or call `model.invalidate()` after
   * editing protos directly, so cached maps and analyses are not stale.
   */
  run(model: Model, options: Readonly<O>, ctx: PassContext): void | Promise<void>;
}

/** A configured pass, ready to run. */
export interface PassInstance<O extends object = Record<string, unknown>> {
  readonly name: string;
  readonly options: Readonly<O>;
  readonly services: readonly ServiceKey<unknown>[];
  readonly preserves: readonly AnalysisKey<unknown>[];
  run(model: Model, ctx: PassContext): void | Promise<void>;
}

export interface PassFactory<O extends object = Record<string, unknown>> {
  (options?: Partial<O>): PassInstance<O>;
  readonly passName: string;
  readonly description: string;
  readonly optionSpecs: OptionSpecs<O>;
  readonly services: readonly ServiceKey<unknown>[];
  /** Options as they come from pipeline text or a command line: strings and lists of strings. */
  fromText(raw: Record<string, string | string[]>): PassInstance<O>;
}

/**
 * A pass factory of any options type, as registries and plugin loaders hold them: every
 * `PassFactory<O>` is one, so a list of different passes needs no cast.
 */
export interface AnyPassFactory {
  (options?: never): PassInstance<object>;
  readonly passName: string;
  readonly description: string;
  readonly optionSpecs: object;
  readonly services: readonly ServiceKey<unknown>[];
  fromText(raw: Record<string, string | string[]>): PassInstance<object>;
}

const NAME = /^[a-z][a-z0-9-]*$/;

function typeLabel(t: OptionType): string {
  return typeof t === 'string' ? t : `one of ${t.enum.join('|')}`;
}

function matches(t: OptionType, v: unknown): boolean {
  switch (t) {
    case 'boolean': return typeof v === 'boolean';
    case 'number': return typeof v === 'number' && !Number.isNaN(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'string': return typeof v === 'string';
    case 'string[]': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'number[]': return Array.isArray(v) && v.every((x) => typeof x === 'number');
    default: return typeof v === 'string' && t.enum.includes(v);
  }
}

function fromString(t: OptionType, raw: string | string[]): { ok: true; value: unknown } | { ok: false } {
  const one = Array.isArray(raw) ? undefined : raw;
  switch (t) {
    case 'boolean':
      if (one === 'true' || one === '') return { ok: true, value: true };
      if (one === 'false') return { ok: true, value: false };
      return { ok: false };
    case 'number': case 'integer': {
      if (one === undefined || one.trim() === '') return { ok: false };
      const n = Number(one);
      return matches(t, n) ? { ok: true, value: n } : { ok: false };
    }
    case 'string':
      return one === undefined ? { ok: false } : { ok: true, value: one };
    case 'string[]':
      return { ok: true, value: Array.isArray(raw) ? raw : raw === '' ? [] : raw.split(/[;|]/).map((s) => s.trim()).filter(Boolean) };
    case 'number[]': {
      const parts = Array.isArray(raw) ? raw : raw.split(/[;|]/);
      const nums = parts.map((s) => Number(s));
      return nums.every((n) => !Number.isNaN(n)) ? { ok: true, value: nums } : { ok: false };
    }
    default:
      return one !== undefined && t.enum.includes(one) ? { ok: true, value: one } : { ok: false };
  }
}

/**
 * Declares a pass. The returned factory validates options once, fills in defaults, and gives a
 * PassInstance; `fromText` does the same for options written in a pipeline string.
 */
export function definePass<O extends object>(spec: PassSpec<O>): PassFactory<O> {
  if (!NAME.test(spec.name)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `pass name "${spec.name}" must be lower-case letters, digits and dashes`);
  }
  const specs = spec.options as Record<string, OptionSpec<unknown>>;
  const known = Object.keys(specs);
  const services = Object.freeze([...(spec.services ?? [])]);
  const preserves = Object.freeze([...(spec.preserves ?? [])]);

  const fail = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `pass "${spec.name}": ${msg}`, { details: { pass: spec.name, ...details } });
  };

  const build = (given: Record<string, unknown>): PassInstance<O> => {
    const options: Record<string, unknown> = {};
    for (const key of Object.keys(given)) {
      if (!(key in specs)) fail(`unknown option "${key}"; options are ${known.join(', ') || '(none)'}`, { option: key, known });
    }
    for (const key of known) {
      const s = specs[key] as OptionSpec<unknown>;
      const value = given[key] === undefined ? s.default : given[key];
      const types = (Array.isArray(s.type) ? s.type : [s.type]) as OptionType[];
      if (!types.some((t) => matches(t, value))) {
        fail(`option "${key}" must be ${types.map(typeLabel).join(' or ')}, got ${JSON.stringify(value)}`, { option: key });
      }
      const problem = s.validate?.(value);
      if (problem) fail(`option "${key}": ${problem}`, { option: key });
      options[key] = Array.isArray(value) ? Object.freeze([...value]) : value;
    }
    const problem = spec.check?.(options as O);
    if (problem) fail(problem);
    Object.freeze(options);
    return {
      name: spec.name,
      options: options as O,
      services,
      preserves,
      run: (model, ctx) => spec.run(model, options as O, ctx),
    };
  };

  const factory = ((opts: Partial<O> = {}) => build(opts as Record<string, unknown>)) as PassFactory<O>;
  Object.defineProperties(factory, {
    passName: { value: spec.name },
    description: { value: spec.description },
    optionSpecs: { value: spec.options },
    services: { value: services },
    fromText: {
      value: (raw: Record<string, string | string[]>) => {
        const converted: Record<string, unknown> = {};
        for (const [key, text] of Object.entries(raw)) {
          const s = specs[key];
          if (!s) fail(`unknown option "${key}"; options are ${known.join(', ') || '(none)'}`, { option: key, known });
          const types = (Array.isArray((s as OptionSpec<unknown>).type) ? (s as OptionSpec<unknown>).type : [(s as OptionSpec<unknown>).type]) as OptionType[];
          // Try the forms in a sensible order: a boolean word before a list of one name.
          const ordered = [...types].sort((a, b) => (a === 'boolean' ? -1 : b === 'boolean' ? 1 : 0));
          let done = false;
          for (const t of ordered) {
            const r = fromString(t, text);
            if (r.ok) {
              converted[key] = r.value;
              done = true;
              break;
            }
          }
          if (!done) fail(`option "${key}" must be ${types.map(typeLabel).join(' or ')}, got "${String(text)}"`, { option: key });
        }
        return build(converted);
      },
    },
  });
  return factory;
}
