import { type TypeProto, type TypeProto_Tensor, declaredDims, dtypeName, openModel } from '@onnx-forge/core';
import { type ElementType, type EmptyInputHazard, type ValueInfo, emptyInputHazardIn } from '@onnx-forge/runtime';
import type { VariantSpec } from './model-source.js';
import { type SizedTensor, sizedTensors } from './output-bound.js';

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
  /**
   * Inputs declared optional(tensor): onnxruntime reports them as non-tensors (no type, no shape), yet
   * onnxruntime-node feeds them a tensor, of this element type and shape.
   */
  readonly optionalTensorInputs: ReadonlyMap<string, Pick<ValueInfo, 'type' | 'shape'>>;
  /** Inputs that are sequences or maps (or optional ones): onnxruntime-node cannot feed them, by name with their kind. */
  readonly nonTensorInputs: ReadonlyMap<string, string>;
  /** Tensors whose size a request's values fix (ConstantOfShape's shape given by an input...), checked before a run. */
  readonly sizedTensors: readonly SizedTensor[];
}

const NONE: GraphFacts = { scalarInputs: new Set(), abortsOnEmpty: undefined, optionalTensorInputs: new Map(), nonTensorInputs: new Map(), sizedTensors: [] };

const ELEMENT_TYPES: ReadonlySet<string> = new Set<ElementType>(['float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

/** A tensor type as onnxruntime's metadata gives it (symbolic dims by name, unknown ones ''), when its element type is one onnxruntime-node feeds. */
function tensorInfo(t: TypeProto_Tensor): Pick<ValueInfo, 'type' | 'shape'> | undefined {
  const type = dtypeName(t.elemType ?? 0);
  if (!ELEMENT_TYPES.has(type)) return undefined;
  // onnxruntime's form: a dim with neither size nor name is ''.
  const shape = declaredDims(t.shape)?.map((d) => d ?? '');
  return { type: type as ElementType, shape };
}

/** What kind of non-tensor a value type is ("a sequence", "a map", "an optional sequence"). */
function kindOf(t: TypeProto): string {
  if (t.sequenceType) return 'a sequence';
  if (t.mapType) return 'a map';
  if (t.optionalType) return t.optionalType.elemType ? `an optional ${kindOf(t.optionalType.elemType).replace(/^an? /, '')}` : 'an optional value';
  return 'not a tensor';
}

/**
 * Reads the graphs of a version's variants (decoded without their weights: milliseconds even for a
 * large model). A graph that cannot be read adds nothing: onnxruntime loaded it, and these facts only
 * tighten the checks on requests.
 */
export async function graphFacts(variants: readonly VariantSpec[]): Promise<GraphFacts> {
  let scalarInputs: ReadonlySet<string> | undefined;
  let abortsOnEmpty: GraphFacts['abortsOnEmpty'];
  const optionalTensorInputs = new Map<string, Pick<ValueInfo, 'type' | 'shape'>>();
  const nonTensorInputs = new Map<string, string>();
  let sized: SizedTensor[] = [];
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
      sized = sizedTensors(model.proto);
      for (const i of graph?.input ?? []) {
        if (initializers.has(i.name) || !i.type || i.type.tensorType) continue;
        const inner = i.type.optionalType?.elemType?.tensorType;
        const info = inner ? tensorInfo(inner) : undefined;
        if (info) optionalTensorInputs.set(i.name, info);
        else if (!inner) nonTensorInputs.set(i.name, kindOf(i.type));
      }
    }
    if (abortsOnEmpty === undefined) {
      const hazard = emptyInputHazardIn(model);
      if (hazard) abortsOnEmpty = { ...hazard, variant: v.name };
    }
    if (abortsOnEmpty) break;
  }
  return scalarInputs === undefined && abortsOnEmpty === undefined ? NONE : { scalarInputs: scalarInputs ?? new Set(), abortsOnEmpty, optionalTensorInputs, nonTensorInputs, sizedTensors: sized };
}
