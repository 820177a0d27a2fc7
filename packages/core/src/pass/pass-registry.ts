import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { AnyPassFactory, PassFactory, PassInstance } from './define-pass.js';
import { parsePipeline } from './pipeline.js';

/** Passes known by name, for pipelines written as text. */
export class PassRegistry {
  private readonly passes = new Map<string, PassFactory<object>>();

  constructor(factories: readonly AnyPassFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  register(factory: AnyPassFactory): this {
    const f = factory as unknown as PassFactory<object>;
    if (this.passes.has(f.passName) && this.passes.get(f.passName) !== f) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `a pass named "${f.passName}" is already registered`);
    }
    this.passes.set(f.passName, f);
    return this;
  }

  get(name: string): PassFactory<object> | undefined {
    return this.passes.get(name);
  }

  has(name: string): boolean {
    return this.passes.has(name);
  }

  list(): PassFactory<object>[] {
    return [...this.passes.values()];
  }

  /** Configured passes from a pipeline string such as `fp16{keepIoTypes=true},cleanup`. */
  parse(pipeline: string): PassInstance<object>[] {
    return parsePipeline(pipeline).map((step) => {
      const factory = this.passes.get(step.name);
      if (!factory) {
        throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, `unknown pass "${step.name}"; known passes: ${[...this.passes.keys()].join(', ') || '(none)'}`, {
          details: { pass: step.name, known: [...this.passes.keys()] },
        });
      }
      return factory.fromText(step.options);
    });
  }
}
