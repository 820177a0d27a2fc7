import { openModel } from '@onnx-forge/core';
import { type EmptyInputHazard, emptyInputHazardIn } from '@onnx-forge/runtime';
import type { VariantSpec } from './model-source.js';

/** What the server needs to know of a model's graph beyond what onnxruntime's metadata says. */
export interface GraphFacts {
  /**
   * Inputs the graph declares as scalars (rank 0). onnxruntime reports a scalar and an input of unknown
   * rank alike (shape []), and does not check the rank of a scalar feed itself: a request may give a
   * scalar as [] or [1], but with more than one value it fails inside the model.
   */
  readonly scalarInputs: ReadonlySet<string>;
  /**
   * A node (in any variant, subgraphs included) that onnxruntime aborts the process on when an empty
   * tensor reaches it (the runtime's sessions refuse such feeds too; checking them here answers 400
   * before a request waits in a batcher).
   */
  readonly abortsOnEmpty: (EmptyInputHazard & { readonly variant: string }) | undefined;
}

const NONE: GraphFacts = { scalarInputs: new Set(), abortsOnEmpty: undefined };

/**
 * Reads the graphs of a version's variants (decoded without their weights: milliseconds even for a
 * large model). A graph that cannot be read adds nothing: onnxruntime loaded it, and these facts only
 * tighten the checks on requests.
 */
export async function graphFacts(variants: readonly VariantSpec[]): Promise<GraphFacts> {
  let scalarInputs: ReadonlySet<string> | undefined;
  let abortsOnEmpty: GraphFacts['abortsOnEmpty'];
  for (const v of variants) {
    let model;
    try {
      model = await openModel(v.file, { externalData: false });
    } catch {
      continue;
    }
    if (scalarInputs === undefined) {
      const graph = model.proto.graph;
      const initializers = new Set((graph?.initializer ?? []).map((t) => t.name));
      scalarInputs = new Set(
        (graph?.input ?? [])
          .filter((i) => !initializers.has(i.name) && i.type?.tensorType?.shape != null && (i.type.tensorType.shape.dim ?? []).length === 0)
          .map((i) => i.name),
      );
    }
    if (abortsOnEmpty === undefined) {
      const hazard = emptyInputHazardIn(model);
      if (hazard) abortsOnEmpty = { ...hazard, variant: v.name };
    }
    if (abortsOnEmpty) break;
  }
  return scalarInputs === undefined && abortsOnEmpty === undefined ? NONE : { scalarInputs: scalarInputs ?? new Set(), abortsOnEmpty };
}
