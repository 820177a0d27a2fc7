import { createLocalSession } from './create-local-session.js';
import type { CreateSessionOptions } from './create-session-options.js';
import type { ModelSource, ModelVariants } from './model-source.js';
import { defaultSessionCache } from './session-cache.js';
import type { Session } from './types.js';

/**
 * Loads a model (or the best of its precision variants) with the first execution provider that works.
 * Every provider passed over is reported with the phase it failed in and its error, as 'skip' events
 * and on `session.skipped`. With `cache`, sessions of the same model and options are shared.
 */
export async function createSession(model: ModelSource | ModelVariants, options: CreateSessionOptions = {}): Promise<Session> {
  if (options.cache) {
    const cache = options.cache === true ? defaultSessionCache() : options.cache;
    return cache.acquire(model, options);
  }
  return createLocalSession(model, options);
}
