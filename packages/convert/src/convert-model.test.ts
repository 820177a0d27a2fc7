import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForgeErrorCode, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertLightGbm, convertModel, detectFormat, modelInput } from './convert-model.js';
import { parseLightGbm } from './parse-lightgbm.js';
import { lightgbmText } from './testing/lightgbm-text.js';
import { floats, runOnce } from './testing/ort.js';

const REGRESSION = lightgbmText({
  objective: 'regression',
  features: 2,
  trees: [{ split_feature: [1], threshold: [0.5], decision_type: [2], left_child: [-1], right_child: [-2], leaf_value: [-1, 1] }],
});

describe('convertModel', () => {
  it('guesses the format from the content', () => {
    expect(detectFormat(REGRESSION)).toBe('lightgbm');
    expect(detectFormat('{"learner": {"objective": {}}}')).toBe('xgboost');
    expect(detectFormat({ name: 'RFClassifier', baseModel: {} })).toBe('mljs');
    expect(detectFormat(`  \n${REGRESSION}`)).toBe('lightgbm');
  });

  it('reads XGBoost UBJSON (.ubj) from bytes; the same bytes read as text are named as garbled UBJSON', () => {
    // UBJSON: '{', then each key as a length marker (L: int64), its length and its bytes.
    const key = (k: string) => [0x4c, 0, 0, 0, 0, 0, 0, 0, k.length, ...Buffer.from(k)];
    const ubj = Uint8Array.from([0x7b, ...key('learner'), 0x7b, ...key('attributes'), 0x7b, 0x7d, 0x7d, 0x7d]);
    // Read as the object it encodes, which lacks the rest of a model.
    expect(() => convertModel(ubj)).toThrow(/XGBoost model: learner has no "objective"/);
    expect(() => convertModel(ubj, { from: 'xgboost' })).toThrow(/XGBoost model: learner has no "objective"/);
    // Another format asked for: named as UBJSON, which only XGBoost writes, not as JSON or an object.
    for (const from of ['lightgbm', 'mljs'] as const) {
      expect(() => convertModel(ubj, { from })).toThrow(
        expect.objectContaining({ code: ForgeErrorCode.INVALID_MODEL, message: expect.stringMatching(/model: the file is UBJSON \(binary JSON\), which only XGBoost writes .*convert it with \{ from: "xgboost" \}/), details: expect.objectContaining({ detected: 'xgboost' }) }),
      );
    }
    const text = new TextDecoder().decode(ubj);
    expect(() => convertModel(text)).toThrow(/UBJSON \(binary\) model, as XGBoost writes to \.ubj files, read as text.*pass the file's bytes/);
    expect(() => convertModel(text, { from: 'xgboost' })).toThrow(/UBJSON \(binary\), as XGBoost writes to \.ubj files, read as text.*pass the file's bytes/);
    expect(() => convertModel('{"learner": ')).toThrow(/starts like JSON but does not parse as JSON \(truncated\?\)/);
  });

  it('JSON cut short is called truncated with the format given too, not a binary model or no JSON', () => {
    const cut = [
      ['xgboost', '{"learner": {"objective": {"name": "reg:squarederror"}, "learner_model_param": {"num_fe'],
      ['mljs', '\ufeff{"name": "RFClassifier", "baseModel": {"estimators": [{"root": {"splitColumn": 0, "splitVal'],
    ] as const;
    for (const [from, text] of cut) {
      expect(() => convertModel(text, { from }), from).toThrow(/starts as JSON but does not parse \(.*position.*\).*truncated or damaged/);
    }
  });

  it('names the input as asked and reports what it converted', async () => {
    const { model, report } = convertModel(REGRESSION, { inputName: 'features' });
    expect(report).toEqual({ format: 'lightgbm', objective: 'regression', trees: 1, features: 2, classes: undefined, outputs: ['variable'], rawScore: false, warnings: [] });
    expect(model.proto.graph?.input.map((i) => i.name)).toEqual(['features']);
    expect(floats((await runOnce('node', model, new Float32Array([0, 0.25, 0, 0.75]), 2, 'features')).variable)).toEqual([-1, 1]);
    const meta = Object.fromEntries(model.proto.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ 'onnx-forge.source_format': 'lightgbm', 'onnx-forge.objective': 'regression' });
  });

  it('refuses bad options and unknown formats with FORGE_INVALID_OPTIONS', () => {
    for (const options of [{ inputName: '' }, { inputName: 'label' }, { from: 'catboost' as never }]) {
      try {
        convertModel(REGRESSION, options);
        expect.unreachable();
      } catch (e) {
        expect(isForgeError(e, ForgeErrorCode.INVALID_OPTIONS), JSON.stringify(options)).toBe(true);
      }
    }
    expect(() => convertModel(REGRESSION, { inputName: '' })).toThrow(expect.objectContaining({ message: 'inputName must be a non-empty string', details: expect.objectContaining({ option: 'inputName' }) }));
  });

  it('an option for another format is refused, not ignored (FORGE_INVALID_OPTIONS naming the option and the formats it applies to)', () => {
    const xgboost = { learner: { objective: { name: 'reg:squarederror' }, learner_model_param: { num_feature: '2' }, gradient_booster: { name: 'gbtree', model: { trees: [], tree_info: [] } } } };
    const cases = [
      [REGRESSION, { numFeatures: 5 }, /^numFeatures applies to mljs models; a LightGBM model records its input width \(max_feature_idx\)$/, 'numFeatures'],
      [xgboost, { numFeatures: 5 }, /^numFeatures applies to mljs models; an XGBoost model records its input width \(num_feature\)$/, 'numFeatures'],
      [REGRESSION, { bestIteration: true }, /^bestIteration applies to XGBoost models; a LightGBM model is saved with its best iteration already/, 'bestIteration'],
      [REGRESSION, { missing: -999 }, /^missing applies to XGBoost models; a LightGBM model reads only NaN as missing/, 'missing'],
      [xgboost, { missing: '-999' as unknown as number }, /^missing must be a number, got "-999"$/, 'missing'],
    ] as const;
    for (const [input, options, message, option] of cases) {
      expect(() => convertModel(input, options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS, message: expect.stringMatching(message), details: expect.objectContaining({ option }) }),
      );
    }
  });

  it('JSON that is no object (null, a number, an array) is named as JSON that is no model (FORGE_INVALID_MODEL)', () => {
    for (const [text, kind] of [['null', 'null'], ['42', 'a number'], ['[1, 2]', 'an array'], ['"model"', 'a string']]) {
      expect(() => convertModel(text as string), text).toThrow(
        expect.objectContaining({ code: ForgeErrorCode.INVALID_MODEL, message: expect.stringMatching(new RegExp(`^the text is JSON \\(${kind}\\) but not a model of any known format;`)) }),
      );
    }
    expect(() => convertModel('hello world')).toThrow(/nor JSON/);
  });

  it('refuses a LightGBM model given as an object, and text that is no model, with FORGE_INVALID_MODEL', () => {
    for (const [input, options] of [[{ tree: 1 }, { from: 'lightgbm' as const }], ['hello world', {}], ['', {}], ['{"truncated": ', {}]] as const) {
      try {
        convertModel(input, options);
        expect.unreachable();
      } catch (e) {
        expect(isForgeError(e, ForgeErrorCode.INVALID_MODEL), String(input)).toBe(true);
      }
    }
  });

  it('takes file bytes as UTF-8 text', () => {
    expect(convertModel(new TextEncoder().encode(REGRESSION)).report.format).toBe('lightgbm');
  });

  it('takes file bytes in UTF-16 (LE or BE) by their byte-order mark, as Windows PowerShell writes text', async () => {
    const le = Buffer.from(`\ufeff${REGRESSION}`, 'utf16le');
    const be = Buffer.from(le).swap16();
    for (const bytes of [le, be]) {
      const { model, report } = convertModel(new Uint8Array(bytes));
      expect(report).toMatchObject({ format: 'lightgbm', trees: 1, features: 2 });
      expect(floats((await runOnce('node', model, new Float32Array([0, 0.25, 0, 0.75]), 2)).variable)).toEqual([-1, 1]);
    }
    const json = Buffer.from(`\ufeff${JSON.stringify({ name: 'DTRegression', root: { distribution: 4 } })}`, 'utf16le');
    expect(convertModel(new Uint8Array(json)).report).toMatchObject({ format: 'mljs', objective: 'DTRegression' });
  });

  it('past the longest string JavaScript holds, a LightGBM file is read from its bytes a line at a time, and JSON that long is refused as too large (FORGE_UNSUPPORTED_MODEL), not an internal error', () => {
    // The real limit is about 512 MB; a small one stands in for it here.
    const text = `\ufeff${REGRESSION.replaceAll('\n', '\r\n')}`;
    const bytes = new TextEncoder().encode(text);
    const limit = 64;
    expect(modelInput(bytes)).toBe(text.slice(1));
    expect(modelInput(bytes, undefined, limit)).toBe(bytes);
    expect(modelInput(bytes, 'lightgbm', limit)).toBe(bytes);
    expect(parseLightGbm(bytes)).toEqual(parseLightGbm(REGRESSION));
    const refused = (input: Uint8Array, from?: 'xgboost' | 'mljs') => {
      try {
        modelInput(input, from, limit);
      } catch (e) {
        expect(isForgeError(e, ForgeErrorCode.UNSUPPORTED_MODEL)).toBe(true);
        return e as Error & { details: Record<string, unknown> };
      }
      return expect.unreachable();
    };
    const json = refused(new TextEncoder().encode(`  {"learner": {"objective": {"name": "reg:squarederror"}}, "pad": "${'x'.repeat(100)}"}`));
    expect(json.message).toMatch(/the model file is 0 MB of JSON, more than the 0 MB of text JavaScript can hold in one string; only LightGBM text models \(UTF-8\) are read past that, a line at a time: save the XGBoost model as UBJSON \(save_model\("model\.ubj"\)\)/);
    expect(json.details).toMatchObject({ feature: 'size', limit });
    expect(refused(bytes, 'xgboost').details).toMatchObject({ format: 'xgboost' });
    expect(refused(new Uint8Array(Buffer.from(`\ufeff${REGRESSION}`, 'utf16le'))).message).toMatch(/of UTF-16 text, .*: save it as UTF-8/);
  });

  it('the per-format functions force their format', () => {
    expect(() => convertLightGbm('{"learner": {}}')).toThrow(/LightGBM model/);
  });

  it('a model given with the wrong from: FORGE_INVALID_MODEL that names the format the content has', () => {
    for (const [from, detected] of [['xgboost', 'lightgbm'], ['mljs', 'lightgbm']] as const) {
      try {
        convertModel(REGRESSION, { from });
        expect.unreachable();
      } catch (e) {
        expect(isForgeError(e, ForgeErrorCode.INVALID_MODEL)).toBe(true);
        expect((e as Error).message).toContain('looks like a LightGBM model: convert it with { from: "lightgbm" }, or without from to guess the format');
        expect((e as Error).message).not.toContain('--from');
        expect((e as { details?: Record<string, unknown> }).details).toMatchObject({ detected });
      }
    }
    // A damaged model of the format given keeps its own message.
    try {
      convertModel(REGRESSION.slice(0, 200), { from: 'lightgbm' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('looks like');
    }
  });
});

describe('the main entry point', () => {
  // It must bundle for the browser: no Node built-ins, nothing but @onnx-forge/core, and not the mljs
  // backend (a separate entry point).
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

  it('imports nothing but @onnx-forge/core and its own files', () => {
    expect(sources).toContain('index.ts');
    for (const file of sources) {
      const text = readFileSync(path.join(here, file), 'utf8');
      const specifiers = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string);
      for (const s of specifiers) {
        expect(s === '@onnx-forge/core' || (s.startsWith('./') && !s.includes('mljs-backend') && !s.includes('testing')), `${file} imports ${s}`).toBe(true);
      }
    }
  });
});
