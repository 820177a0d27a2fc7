import { definePass } from '@onnx-forge/core';
import { reportDecisions } from './cleanup-decision.js';
import { foldCasts } from './cast-fold.js';
import { eliminateDeadCode } from './dead-code.js';
import { removeIdentities } from './identity.js';
import { toposortModel } from './toposort.js';

/** `cleanup`: identity, cast-fold, dead-code and toposort in one pass, in that order. */
export const cleanupPass = definePass<Record<string, never>>({
  name: 'cleanup',
  description: 'run identity, cast-fold, dead-code and toposort',
  options: {},
  run(model, _options, ctx) {
    const id = removeIdentities(model);
    const casts = foldCasts(model);
    const dead = eliminateDeadCode(model);
    const moved = toposortModel(model);
    ctx.count('identitiesRemoved', id.removed);
    ctx.count('castsRemoved', casts.noOpRemoved + casts.duplicatesMerged);
    ctx.count('castChainsShortened', casts.chainsShortened);
    ctx.count('nodesRemoved', dead.nodesRemoved);
    ctx.count('initializersRemoved', dead.initializersRemoved);
    ctx.count('functionsRemoved', dead.functionsRemoved);
    ctx.count('nodesMoved', moved);
    reportDecisions(ctx, [...id.decisions, ...casts.decisions, ...dead.decisions]);
  },
});
