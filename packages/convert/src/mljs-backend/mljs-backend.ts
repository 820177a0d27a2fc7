import { ForgeError, ForgeErrorCode, type TypedArray } from '@onnx-forge/core';
import { OUTPUT_NAMES } from '../build-onnx.js';
import { parseMljs } from '../parse-mljs.js';

/**
 * A tensor as backends exchange it. The Backend interface is owned by @onnx-forge/hybrid; it is
 * restated here structurally so this package does not depend on hybrid.
 */
export interface BackendTensor {
  type: string;
  dims: readonly number[];
  data: TypedArray | readonly string[];
}

/**
 * What predict accepts for the input: a tensor as above, and also what @onnx-forge/runtime's feeds
 * allow (`{ data, dims? }` with the type taken from the data, or a bare typed array of whole rows).
 */
export type BackendFeed =
  | BackendTensor
  | {
      readonly data: TypedArray | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[];
      readonly dims?: readonly number[];
      readonly shape?: readonly number[];
      readonly type?: string;
    }
  | TypedArray;

export interface Backend {
  readonly name: string;
  predict(feeds: Readonly<Record<string, BackendFeed>>): Promise<Record<string, BackendTensor>>;
  warmup?(): Promise<void>;
  dispose(): Promise<void>;
  readonly sizeBytes?: number;
}

/** What the backend needs of a trained ml-random-forest or ml-cart model. */
export interface MljsModelLike {
  predict(rows: number[][]): number[];
  toJSON(): object;
  /** Forests: the estimators' predictions, rows × estimators. */
  predictionValues?(rows: number[][]): { get(row: number, column: number): number; readonly columns: number };
  /** CART trees: the root node, whose classify(row) returns the leaf's distribution (a 1×k matrix). */
  root?: { classify(row: number[]): unknown };
}

export interface MljsBackendOptions {
  /** Name of the input tensor (default `input`, as in converted models). */
  inputName?: string;
  /** Input width, as given to convertMljs (default: inferred from the model). */
  numFeatures?: number;
}

function distribution(d: unknown): ArrayLike<number> {
  const m = d as { getRow?: (i: number) => number[]; to1DArray?: () => number[] };
  if (typeof m.getRow === 'function') return m.getRow(0);
  if (Array.isArray(d)) return (Array.isArray(d[0]) ? d[0] : d) as number[];
  throw new ForgeError(ForgeErrorCode.RUNTIME, 'mljs backend: a tree leaf returned no class distribution', {});
}

/**
 * The original mljs model as a backend with the converted ONNX model's inputs and outputs (`label`
 * int64 [N] and `probabilities` float32 [N, classes] for classifiers, `variable` float32 [N, 1] for
 * regressors), so a caller can fall back from the ONNX model to it. Labels and regression values come
 * from the model's own predict(); probabilities are the vote shares of the forest's trees (or the CART
 * leaf's class frequencies), which is what the ONNX model outputs. (mljs's own predictProbability
 * counts the first tree's vote wrongly, so it is not used.)
 */
export function mljsBackend(name: string, model: MljsModelLike, options: MljsBackendOptions = {}): Backend {
  if (typeof model?.predict !== 'function' || typeof model.toJSON !== 'function') {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'mljsBackend needs a trained mljs model (with predict and toJSON); load a saved one with e.g. RandomForestClassifier.load(json)', {
      details: { name },
    });
  }
  const ensemble = parseMljs(model, options.numFeatures === undefined ? {} : { numFeatures: options.numFeatures });
  const inputName = options.inputName ?? 'input';
  const features = ensemble.numFeatures;
  const classifier = ensemble.output.kind === 'classification';
  const classes = ensemble.output.kind === 'classification' ? ensemble.output.numClasses : 1;
  const forest = ensemble.objective === 'RFClassifier' || ensemble.objective === 'RFRegression';
  if (classifier && (forest ? typeof model.predictionValues !== 'function' : typeof model.root?.classify !== 'function')) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `mljsBackend: the ${ensemble.objective} model lacks ${forest ? 'predictionValues' : 'root.classify'}; pass the model object from ml-random-forest / ml-cart`, {
      details: { name },
    });
  }
  let live: MljsModelLike | undefined = model;
  const sizeBytes = JSON.stringify(model).length;

  const rowsOf = (feeds: Readonly<Record<string, BackendFeed>>): number[][] => {
    const feed = feeds[inputName];
    if (!feed) throw new ForgeError(ForgeErrorCode.BAD_INPUT, `mljs backend "${name}": no input "${inputName}" (got ${Object.keys(feeds).join(', ') || 'none'})`, { details: { input: inputName } });
    const tensor = ArrayBuffer.isView(feed) ? { data: feed } : feed;
    const data = tensor.data;
    const type = tensor.type ?? (data instanceof Float64Array ? 'float64' : data instanceof Float32Array ? 'float32' : Array.isArray(data) ? 'float32' : undefined);
    const numeric = data instanceof Float32Array || data instanceof Float64Array || (Array.isArray(data) && data.every((v) => typeof v === 'number'));
    if ((type !== 'float32' && type !== 'float64') || !numeric) {
      const got = numeric ? (type ?? data.constructor.name) : `${data.constructor.name} of non-numbers`;
      throw new ForgeError(ForgeErrorCode.BAD_INPUT, `mljs backend "${name}": input "${inputName}" must be float32 [N, ${features}], got ${got}`, { details: { type } });
    }
    const values = data as ArrayLike<number>;
    const dims = ('dims' in tensor && tensor.dims) || ('shape' in tensor && tensor.shape) || [values.length / features, features];
    const [n, f] = dims;
    if (dims.length !== 2 || f !== features || n === undefined || !Number.isInteger(n) || n * features !== values.length) {
      throw new ForgeError(ForgeErrorCode.BAD_INPUT, `mljs backend "${name}": input "${inputName}" must have dims [N, ${features}], got [${dims.join(', ')}]`, { details: { dims: [...dims] } });
    }
    return Array.from({ length: n }, (_, r) => Array.from({ length: features }, (_, j) => values[r * features + j] as number));
  };

  const predict = async (feeds: Readonly<Record<string, BackendFeed>>): Promise<Record<string, BackendTensor>> => {
    const m = live;
    if (!m) throw new ForgeError(ForgeErrorCode.RUNTIME, `mljs backend "${name}" was disposed`, { details: { name } });
    const rows = rowsOf(feeds);
    const n = rows.length;
    const predicted = n === 0 ? [] : m.predict(rows);
    if (!classifier) {
      return { [OUTPUT_NAMES.variable]: { type: 'float32', dims: [n, 1], data: Float32Array.from(predicted) } };
    }
    const probabilities = new Float32Array(n * classes);
    if (forest && n > 0) {
      const votes = (m.predictionValues as NonNullable<MljsModelLike['predictionValues']>)(rows);
      const trees = votes.columns;
      const counts = new Float64Array(classes);
      for (let r = 0; r < n; r++) {
        counts.fill(0);
        for (let t = 0; t < trees; t++) counts[votes.get(r, t)] = (counts[votes.get(r, t)] as number) + 1;
        for (let c = 0; c < classes; c++) probabilities[r * classes + c] = (counts[c] as number) / trees;
      }
    } else {
      const root = m.root as NonNullable<MljsModelLike['root']>;
      rows.forEach((row, r) => probabilities.set(distribution(root.classify(row)), r * classes));
    }
    return {
      [OUTPUT_NAMES.label]: { type: 'int64', dims: [n], data: BigInt64Array.from(predicted, (v) => BigInt(v)) },
      [OUTPUT_NAMES.probabilities]: { type: 'float32', dims: [n, classes], data: probabilities },
    };
  };

  return {
    name,
    sizeBytes,
    predict,
    async warmup() {
      await predict({ [inputName]: { type: 'float32', dims: [1, features], data: new Float32Array(features) } });
    },
    async dispose() {
      live = undefined;
    },
  };
}
