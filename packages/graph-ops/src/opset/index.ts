import type { PassFactory } from '@onnx-forge/core';
import { opsetPass } from './opset-pass.js';

export { opsetPass } from './opset-pass.js';
export type { OpsetPassOptions } from './opset-pass.js';
export { upgradeOpset, DEFAULT_TARGET_OPSET } from './upgrade-opset.js';
export type { OpsetUpgradeOptions, OpsetUpgradeResult, OpsetUpgradeDecision, OpsetRefusal } from './upgrade-opset.js';
export { OPSET_CHANGES, MAX_TABLE_OPSET } from './opset-changes.js';
export type { OpsetChange, ChangeKind } from './opset-changes.js';

export const opsetPasses: readonly PassFactory<never>[] = [opsetPass] as unknown as readonly PassFactory<never>[];
