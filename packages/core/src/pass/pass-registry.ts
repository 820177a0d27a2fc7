import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { AnyPassFactory, PassFactory, PassInstance } from './define-pass.js';
import { isNamedPipeline, type NamedPipeline } from './define-pipeline.js';
import { parsePipeline } from './pipeline.js';

/** Passes and named pipelines known by name, for pipelines written as text. */
export class PassRegistry {
  private readonly passes = new Map<string, PassFactory<object>>();
  private readonly named = new Map<string, NamedPipeline>();

  constructor(entries: readonly (AnyPassFactory | NamedPipeline)[] = []) {
    for (const e of entries) this.register(e);
  }

  register(entry: AnyPassFactory | NamedPipeline): this {
    const name = isNamedPipeline(entry) ? entry.pipelineName : entry.passName;
    const existing = this.passes.get(name) ?? this.named.get(name);
    if (existing && existing !== (entry as unknown)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `a pass or pipeline named "${name}" is already registered`);
    }
    if (isNamedPipeline(entry)) this.named.set(name, entry);
    else this.passes.set(name, entry as unknown as PassFactory<object>);
    return this;
  }

  /** The named pipelines (each stands for several passes). */
  pipelines(): NamedPipeline[] {
    return [...this.named.values()];
  }

  get(name: string): PassFactory<object> | undefined {
    return this.passes.get(name);
  }

  has(name: string): boolean {
    return this.passes.has(name) || this.named.has(name);
  }

  list(): PassFactory<object>[] {
    return [...this.passes.values()];
  }

  /** Configured passes from a pipeline string such as `fp16{keepIoTypes=true},cleanup`; named pipelines expand. */
  parse(pipeline: string, expanding: readonly string[] = []): PassInstance<object>[] {
    return parsePipeline(pipeline).flatMap((step) => {
      const named = this.named.get(step.name);
      if (named) {
        if (Object.keys(step.options).length) {
          throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, `"${step.name}" is a pipeline (${named.steps}) and takes no options; write its passes with their options instead`, { details: { pass: step.name } });
        }
        if (expanding.includes(step.name)) {
          throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, `pipeline "${step.name}" includes itself (${[...expanding, step.name].join(' -> ')})`, { details: { pass: step.name } });
        }
        return this.parse(named.steps, [...expanding, step.name]);
      }
      const factory = this.passes.get(step.name);
      if (!factory) {
        const known = [...this.passes.keys(), ...this.named.keys()];
        throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, `unknown pass "${step.name}"; known passes: ${known.join(', ') || '(none)'}`, {
          details: { pass: step.name, known },
        });
      }
      return [factory.fromText(step.options)];
    });
  }
}
