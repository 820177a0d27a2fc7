import { AttributeType, getAttribute, removeAttribute, type NodeProto } from '@onnx-forge/core';
import type { StepContext } from './step-context.js';

/**
 * Rewrites one node so it means at `c.version` what it meant one opset earlier. Returns what it
 * changed (the reason recorded for the node), or undefined when this node needed nothing. Calls
 * `c.refuse` when there is no faithful rewrite.
 */
export type Adapter = (c: StepContext) => string | undefined;

/** An attribute's value is needed but the node (in a function body) only refers to the caller's. */
export function refuseAttributeReference(c: StepContext, name: string): void {
  const a = getAttribute(c.node, name);
  if (a?.refAttrName) return c.refuse(`attribute "${name}" refers to the calling function's attribute "${a.refAttrName}", whose value the upgrade cannot see`);
}

/** Removes attributes that no longer exist; returns the ones that were there. */
export function dropAttributes(node: NodeProto, names: readonly string[]): string[] {
  return names.filter((n) => removeAttribute(node, n));
}

/** A string attribute (also one stored as raw bytes), or undefined. */
export function stringAttr(node: NodeProto, name: string): string | undefined {
  const a = getAttribute(node, name);
  if (!a) return undefined;
  if (a.type !== AttributeType.STRING && !(a.s && a.s.length)) return undefined;
  return new TextDecoder().decode(a.s);
}

/** Removes the legacy `consumed_inputs` attribute (an in-place hint of opsets 1–5). */
export const dropConsumedInputs: Adapter = (c) =>
  dropAttributes(c.node, ['consumed_inputs']).length ? 'dropped the legacy consumed_inputs attribute' : undefined;

/** Runs adapters in order, joining what they changed. */
export function chain(...adapters: Adapter[]): Adapter {
  return (c) => {
    const done = adapters.map((a) => a(c)).filter((r): r is string => r !== undefined);
    return done.length ? done.join('; ') : undefined;
  };
}
