import { ForgeError, ForgeErrorCode } from '../errors.js';
import { parsePipeline } from './pipeline.js';

/**
 * Several passes under one name (`cleanup` = `identity,cast-fold,dead-code,toposort`): a registry
 * expands the name into its passes, so each runs, is checked and reports as itself.
 */
export interface NamedPipeline {
  readonly pipelineName: string;
  readonly description: string;
  /** The pipeline text it stands for. */
  readonly steps: string;
}

const NAME = /^[a-z][a-z0-9-]*$/;

export function definePipeline(spec: { name: string; description: string; steps: string }): NamedPipeline {
  if (!NAME.test(spec.name)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `pipeline name "${spec.name}" must be lower-case letters, digits and dashes`);
  // Parsed now, so a typo in a definition fails where it is written.
  parsePipeline(spec.steps);
  return Object.freeze({ pipelineName: spec.name, description: spec.description, steps: spec.steps });
}

export function isNamedPipeline(x: unknown): x is NamedPipeline {
  return typeof x === 'object' && x !== null && typeof (x as NamedPipeline).pipelineName === 'string';
}
