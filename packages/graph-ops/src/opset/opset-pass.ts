import { definePass } from '@onnx-forge/core';
import { MAX_TABLE_OPSET } from './opset-changes.js';
import { DEFAULT_TARGET_OPSET, upgradeOpset } from './upgrade-opset.js';

export interface OpsetPassOptions {
  /** The ai.onnx opset to upgrade to (2–21). */
  version: number;
  /** Refuse (FORGE_INVALID_OPTIONS) a model above the target instead of leaving it alone. */
  strict: boolean;
}

/**
 * `opset{version=N}`: upgrades the ai.onnx operator set to N, rewriting every node whose operator
 * changed on the way (a decision per node), or refuses with FORGE_UNSUPPORTED_OP and changes nothing.
 * A model at or above N is left alone (stat `status: unchanged`).
 */
export const opsetPass = definePass<OpsetPassOptions>({
  name: 'opset',
  description: `upgrade the ai.onnx operator set (default ${DEFAULT_TARGET_OPSET}), rewriting operators whose signature or meaning changed; never downgrades`,
  options: {
    version: {
      type: 'integer',
      default: DEFAULT_TARGET_OPSET,
      description: `target ai.onnx opset, 2 to ${MAX_TABLE_OPSET}`,
      validate: (v) => (v >= 2 && v <= MAX_TABLE_OPSET ? undefined : `must be from 2 to ${MAX_TABLE_OPSET}`),
    },
    strict: { type: 'boolean', default: false, description: 'fail on a model above the target instead of leaving it unchanged' },
  },
  run(model, options, ctx) {
    upgradeOpset(model, options.version, ctx, { strict: options.strict });
  },
});
