import type { PassFactory } from '@onnx-forge/core';
import { castFoldPass } from './cast-fold.js';
import { deadCodePass } from './dead-code.js';
import { identityPass } from './identity.js';
import { toposortPass } from './toposort.js';

export { bypassNode } from './bypass.js';
export { castFoldPass, foldCasts, isExactCast } from './cast-fold.js';
export type { CastFoldReport } from './cast-fold.js';
export { cleanupPipeline } from './cleanup.js';
export type { CleanupDecision } from './cleanup-decision.js';
export { deadCodePass, eliminateDeadCode } from './dead-code.js';
export type { DeadCodeReport } from './dead-code.js';
export { identityPass, removeIdentities } from './identity.js';
export type { IdentityReport } from './identity.js';
export { toposortPass, toposortModel } from './toposort.js';

export const cleanupPasses: readonly PassFactory<never>[] = [
  deadCodePass, identityPass, castFoldPass, toposortPass,
] as unknown as readonly PassFactory<never>[];
