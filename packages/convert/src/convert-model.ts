import { ForgeError, ForgeErrorCode, isForgeError, type Model } from '@onnx-forge/core';
import { OUTPUT_NAMES, WEB_TREE_DEPTH, onnxTreeDepth, treeEnsembleToOnnx } from './build-onnx.js';
import { invalidModel } from './convert-errors.js';
import { looksLikeUbjson } from './json-text.js';
import { parseLightGbm } from './parse-lightgbm.js';
import { MLJS_MODEL_NAMES, parseMljs } from './parse-mljs.js';
import { parseXgboost } from './parse-xgboost.js';
import { looksLikeUbjsonBytes, readUbjson } from './ubjson.js';
import { hasMargins, type SourceFormat, type TreeEnsemble } from './tree-ensemble.js';

export interface ConvertOptions {
  /** The source format; guessed from the content when absent. */
  from?: SourceFormat;
  /** Output raw scores (margins) instead of the objective's transform (LightGBM, XGBoost). */
  rawScore?: boolean;
  /** Name of the float input [N, features] (default `input`). */
  inputName?: string;
  /**
   * mljs only: input width, when the training rows had columns no tree reads (default: inferred). Given
   * for another format, or below the columns the trees read, it is refused (FORGE_INVALID_OPTIONS).
   */
  numFeatures?: number;
  /**
   * XGBoost only: keep the rounds up to best_iteration (early stopping), as its scikit-learn predict does.
   * Refused (FORGE_INVALID_OPTIONS) for another format or a model without best_iteration.
   */
  bestIteration?: boolean;
  /**
   * XGBoost only: the `missing` value the model's DMatrix is built with (`DMatrix(X, missing=-999)`),
   * which XGBoost does not save; inputs equal to it are read as missing, as NaN always is. It overrides
   * what XGBoost 1.x's scikit-learn wrapper recorded. Refused (FORGE_INVALID_OPTIONS) for another format.
   */
  missing?: number;
}

export interface ConvertReport {
  format: SourceFormat;
  objective: string;
  trees: number;
  features: number;
  /** Class count of a classifier; undefined for a regressor. */
  classes: number | undefined;
  /** Output names of the ONNX model, in order. */
  outputs: string[];
  rawScore: boolean;
  /** What the user should know about the converted model (an early-stopped XGBoost model's extra rounds). */
  warnings: string[];
}

export interface ConvertResult {
  model: Model;
  /** The parsed trees, for predictTrees (scoring in JavaScript). */
  ensemble: TreeEnsemble;
  report: ConvertReport;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonValue(text: string): { parsed: true; value: unknown } | { parsed: false } {
  try {
    return { parsed: true, value: JSON.parse(text) as unknown };
  } catch {
    return { parsed: false };
  }
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Whether text (a whole model or its first part) opens as a LightGBM text model. */
function looksLikeLightGbm(text: string): boolean {
  return /^tree\r?\n/.test(text) || /^version=v\d/m.test(text) || /^Tree=0\r?$/m.test(text);
}

/** The format of a model given as text or object, from its content. */
export function detectFormat(input: string | object): SourceFormat {
  if (typeof input === 'string') {
    const text = input.trimStart();
    if (text.startsWith('{')) {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        if (looksLikeUbjson(text)) {
          throw invalidModel('xgboost', 'this is a UBJSON (binary) model, as XGBoost writes to .ubj files, read as text, which garbles it: pass the file\'s bytes (a Uint8Array from readFile without an encoding)', {}, e);
        }
        throw invalidModel(undefined, 'the text starts like JSON but does not parse as JSON (truncated?); expected a LightGBM text model, an XGBoost JSON model or an mljs toJSON()', {}, e);
      }
      return detectFormat(doc as object);
    }
    if (looksLikeLightGbm(text)) return 'lightgbm';
    const json = jsonValue(text);
    if (json.parsed) {
      // null, a number, a string or an array: valid JSON, but no model is anything but an object.
      throw invalidModel(undefined, `the text is JSON (${jsonKind(json.value)}) but not a model of any known format; expected a LightGBM model.txt, an XGBoost model.json or an mljs toJSON()`, { json: jsonKind(json.value) });
    }
    throw invalidModel(undefined, 'not a LightGBM text model (no "tree" header), nor JSON; expected a LightGBM model.txt, an XGBoost model.json or an mljs toJSON()');
  }
  if (isRecord(input)) {
    if (isRecord(input.learner)) return 'xgboost';
    const name = typeof input.toJSON === 'function' ? (input.toJSON as () => unknown)() : input;
    if (isRecord(name) && typeof name.name === 'string' && (MLJS_MODEL_NAMES as readonly string[]).includes(name.name)) return 'mljs';
  }
  throw invalidModel(undefined, 'not a model this converter reads: expected an XGBoost JSON model (with "learner"), an mljs model or its toJSON() (with "name": RFClassifier, RFRegression, DTClassifier or DTRegression), or LightGBM model text');
}

const FORMAT_NAMES: Record<SourceFormat, string> = { lightgbm: 'LightGBM', xgboost: 'XGBoost', mljs: 'mljs' };

/** "a LightGBM model", "an XGBoost model", "an mljs model". */
function aModel(format: SourceFormat): string {
  return `${format === 'lightgbm' ? 'a' : 'an'} ${FORMAT_NAMES[format]} model`;
}

/**
 * File bytes as text: UTF-8 (a byte-order mark dropped), or UTF-16 when a UTF-16 byte-order mark opens
 * them. Windows PowerShell 5 writes UTF-16 LE with `>` and Out-File, so a model printed there
 * (`print(booster.model_to_string())`, `json.dump`) arrives in UTF-16.
 */
function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder().decode(bytes);
}

/** The most UTF-8 bytes sure to decode into one string: V8's longest is 2^29 - 24 UTF-16 units. */
const MAX_TEXT_BYTES = 0x1fffffe8;

/**
 * File bytes as the parsers take them: text, or, past the longest string JavaScript holds, the bytes of
 * a LightGBM model, which is read a line at a time. JSON that long (XGBoost, mljs) cannot be parsed and
 * is refused, saying so, instead of failing inside the decoder. `limit` is for tests.
 */
export function modelInput(bytes: Uint8Array, from?: SourceFormat, limit = MAX_TEXT_BYTES): string | Uint8Array {
  if (bytes.length <= limit) return decodeText(bytes);
  const size = `${Math.round(bytes.length / 2 ** 20)} MB`;
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  const head = utf16 ? '' : new TextDecoder().decode(bytes.subarray(0, 1 << 16)).trimStart();
  const lightgbm = looksLikeLightGbm(head);
  if (lightgbm && (from === undefined || from === 'lightgbm')) return bytes;
  const what = utf16 ? 'UTF-16 text' : head.startsWith('{') ? 'JSON' : 'text';
  const hint = utf16 ? ': save it as UTF-8' : head.includes('"learner"') ? ': save the XGBoost model as UBJSON (save_model("model.ubj")), which is read past that size' : '';
  throw new ForgeError(ForgeErrorCode.UNSUPPORTED_MODEL, `the model file is ${size} of ${what}, more than the ${Math.floor(limit / 2 ** 20)} MB of text JavaScript can hold in one string; only LightGBM text models (UTF-8) are read past that, a line at a time${hint}`, {
    details: { feature: 'size', bytes: bytes.length, limit, ...(from === undefined ? {} : { format: from }) },
  });
}

/**
 * Parses a model of any supported format (text, file bytes as UTF-8 or UTF-16 with its byte-order
 * mark, or an object) into the tree IR.
 */
export function parseTreeModel(model: string | Uint8Array | object, options: Pick<ConvertOptions, 'from' | 'numFeatures' | 'bestIteration' | 'missing'> = {}): TreeEnsemble {
  // XGBoost's binary .ubj: read into the object its JSON form parses to. Only XGBoost writes UBJSON: with
  // another format asked for, say so rather than what that format's reader finds missing in the object.
  const ubjson = model instanceof Uint8Array && looksLikeUbjsonBytes(model);
  if (ubjson && (options.from === 'lightgbm' || options.from === 'mljs')) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `${FORMAT_NAMES[options.from]} model: the file is UBJSON (binary JSON), which only XGBoost writes (save_model("model.ubj")); the content looks like an XGBoost model: convert it with { from: "xgboost" }, or without from to guess the format`, {
      details: { format: options.from, detected: 'xgboost' },
    });
  }
  const input = model instanceof Uint8Array ? (ubjson ? (readUbjson(model) as object) : modelInput(model, options.from)) : model;
  // A LightGBM model too long for one string, already recognised by its first lines.
  if (input instanceof Uint8Array) return parseAs('lightgbm', input, options);
  const from = options.from;
  if (from === undefined) return parseAs(detectFormat(input), input, options);
  try {
    return parseAs(from, input, options);
  } catch (e) {
    // A format forced on a model of another one (--from xgboost on a LightGBM file): say what the
    // content looks like instead of only that it is not what was asked for.
    if (!isForgeError(e, ForgeErrorCode.INVALID_MODEL)) throw e;
    let detected: SourceFormat | undefined;
    try {
      detected = detectFormat(input);
    } catch {
      detected = undefined;
    }
    if (detected === undefined || detected === from) throw e;
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `${e.message}; the content looks like ${aModel(detected)}: convert it with { from: "${detected}" }, or without from to guess the format`, {
      details: { ...e.details, detected },
      cause: e,
    });
  }
}

function parseAs(from: SourceFormat, input: string | Uint8Array | object, options: Pick<ConvertOptions, 'numFeatures' | 'bestIteration' | 'missing'>): TreeEnsemble {
  // An option meant for another format is refused rather than ignored: whoever passed it expected
  // it to change the result.
  if (options.bestIteration && from !== 'xgboost') {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `bestIteration applies to XGBoost models; ${aModel(from)}${from === 'lightgbm' ? ' is saved with its best iteration already (save_model keeps it)' : ' has no boosting rounds'}`, {
      details: { option: 'bestIteration', from, appliesTo: ['xgboost'] },
    });
  }
  if (options.missing !== undefined && (typeof options.missing !== 'number' || from !== 'xgboost')) {
    const why = typeof options.missing !== 'number' ? `missing must be a number, got ${JSON.stringify(options.missing)}` : `missing applies to XGBoost models; ${aModel(from)} reads only NaN as missing${from === 'lightgbm' ? ' (and zero, where trained with zero_as_missing)' : ''}`;
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, why, { details: { option: 'missing', from, appliesTo: ['xgboost'] } });
  }
  if (options.numFeatures !== undefined && from !== 'mljs') {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `numFeatures applies to mljs models; ${aModel(from)} records its input width (${from === 'lightgbm' ? 'max_feature_idx' : 'num_feature'})`, {
      details: { option: 'numFeatures', from, appliesTo: ['mljs'] },
    });
  }
  switch (from) {
    case 'lightgbm':
      if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalidModel('lightgbm', 'expected the text of the model file (Booster.save_model output), not an object');
      return parseLightGbm(input);
    case 'xgboost':
      return parseXgboost(input, {
        ...(options.bestIteration === undefined ? {} : { bestIteration: options.bestIteration }),
        ...(options.missing === undefined ? {} : { missing: options.missing }),
      });
    case 'mljs':
      return parseMljs(input, options.numFeatures === undefined ? {} : { numFeatures: options.numFeatures });
    default:
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `unknown source format "${String(from)}" (use lightgbm, xgboost or mljs)`, { details: { from } });
  }
}

function checkOptions(options: ConvertOptions): void {
  if (options.inputName !== undefined && (typeof options.inputName !== 'string' || options.inputName.trim() === '')) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'inputName must be a non-empty string', { details: { option: 'inputName', inputName: options.inputName } });
  }
  if (options.inputName !== undefined && (Object.values(OUTPUT_NAMES) as string[]).includes(options.inputName)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `inputName "${options.inputName}" is also the name of an output; choose another name`, { details: { option: 'inputName', inputName: options.inputName } });
  }
}

/** Converts a parsed ensemble; see convertModel. */
export function convertEnsemble(ensemble: TreeEnsemble, options: Omit<ConvertOptions, 'from' | 'numFeatures' | 'bestIteration' | 'missing'> = {}): ConvertResult {
  checkOptions(options);
  const rawScore = options.rawScore === true;
  if (rawScore && !hasMargins(ensemble)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `rawScore applies to boosted models (LightGBM, XGBoost); ${aModel(ensemble.format)} (${ensemble.objective}) has no raw margins — convert it without rawScore`, {
      details: { option: 'rawScore', objective: ensemble.objective, from: ensemble.format, appliesTo: ['lightgbm', 'xgboost'] },
    });
  }
  const model = treeEnsembleToOnnx(ensemble, { rawScore, ...(options.inputName === undefined ? {} : { inputName: options.inputName }) });
  const classes = ensemble.output.kind === 'classification' ? ensemble.output.numClasses : undefined;
  const warnings = [...(ensemble.notes ?? [])];
  const { depth, tree } = onnxTreeDepth(ensemble);
  if (depth > WEB_TREE_DEPTH) {
    warnings.push(`tree ${tree} is ${depth} levels deep: onnxruntime-node loads it, but onnxruntime-web fails on trees past about 1,850 levels ("Maximum call stack size exceeded"); retrain with a depth limit to run it in the browser`);
  }
  return {
    model,
    ensemble,
    report: {
      format: ensemble.format,
      objective: ensemble.objective,
      trees: ensemble.trees.length,
      features: ensemble.numFeatures,
      classes,
      outputs: model.proto.graph?.output.map((o) => o.name) ?? [],
      rawScore,
      warnings,
    },
  };
}

/**
 * Converts a LightGBM text model, an XGBoost JSON model or an mljs model (object, toJSON() or its JSON
 * text) to an ONNX model of ai.onnx.ml tree ensembles. Throws FORGE_UNSUPPORTED_MODEL for what it
 * refuses (categorical splits, linear trees, unknown objectives, median forests) and
 * FORGE_INVALID_MODEL for input that is no model or a damaged one.
 */
export function convertModel(input: string | Uint8Array | object, options: ConvertOptions = {}): ConvertResult {
  checkOptions(options);
  return convertEnsemble(parseTreeModel(input, options), options);
}

export function convertLightGbm(text: string | Uint8Array, options: Omit<ConvertOptions, 'from' | 'numFeatures'> = {}): ConvertResult {
  return convertModel(text, { ...options, from: 'lightgbm' });
}

export function convertXgboost(model: string | Uint8Array | object, options: Omit<ConvertOptions, 'from' | 'numFeatures'> = {}): ConvertResult {
  return convertModel(model, { ...options, from: 'xgboost' });
}

export function convertMljs(model: string | object, options: Omit<ConvertOptions, 'from'> = {}): ConvertResult {
  return convertModel(model, { ...options, from: 'mljs' });
}
