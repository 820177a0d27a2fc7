import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

/*
 * onnx-forge convert, run as a child process. Models are written here by hand (a LightGBM text model,
 * an XGBoost JSON model, an mljs forest's toJSON()); the LightGBM fixture of shared/ is converted too
 * when that folder is present.
 */
const FIXTURES = path.resolve(REPO_ROOT, '../shared/fixtures/lightgbm');

/** A LightGBM regression model: two trees over 3 features (f0 <= 0.5 ? 1 : 2) + (f2 <= -1 ? 10 : 20). */
function lightgbm(options: { objective?: string; decisionType?: number; linear?: boolean } = {}): string {
  const tree = (i: number, feature: number, threshold: number, leaves: [number, number]) =>
    [
      `Tree=${i}`, 'num_leaves=2', 'num_cat=0', `split_feature=${feature}`, 'split_gain=1', `threshold=${threshold}`,
      `decision_type=${options.decisionType ?? 2}`, 'left_child=-1', 'right_child=-2', `leaf_value=${leaves.join(' ')}`,
      'leaf_weight=1 1', 'leaf_count=1 1', 'internal_value=0', 'internal_weight=1', 'internal_count=2',
      `is_linear=${i === 1 && options.linear ? 1 : 0}`, 'shrinkage=1', '', '',
    ].join('\n');
  const trees = [tree(0, 0, 0.5, [1, 2]), tree(1, 2, -1, [10, 20])];
  return [
    'tree', 'version=v4', 'num_class=1', 'num_tree_per_iteration=1', 'label_index=0', 'max_feature_idx=2',
    `objective=${options.objective ?? 'regression'}`, 'feature_names=a b c', 'feature_infos=[-5:5] [-5:5] [-5:5]',
    `tree_sizes=${trees.map((t) => t.length).join(' ')}`, '', '', ...trees, 'end of trees', '', 'parameters:', 'end of parameters', '',
  ].join('\n');
}

const XGBOOST = {
  learner: {
    gradient_booster: {
      name: 'gbtree',
      model: {
        gbtree_model_param: { num_parallel_tree: '1', num_trees: '1' },
        tree_info: [0],
        trees: [{
          tree_param: { num_nodes: '3', num_feature: '2', size_leaf_vector: '1' },
          left_children: [1, -1, -1], right_children: [2, -1, -1], split_indices: [1, 0, 0], split_conditions: [0.5, -1, 1],
          default_left: [1, 0, 0], split_type: [0, 0, 0], base_weights: [0, 0, 0], parents: [2147483647, 0, 0],
          loss_changes: [0, 0, 0], sum_hessian: [0, 0, 0], categories: [], categories_nodes: [], categories_segments: [], categories_sizes: [],
        }],
      },
    },
    learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: '2', num_target: '1' },
    objective: { name: 'binary:logistic', reg_loss_param: { scale_pos_weight: '1' } },
  },
  version: [2, 1, 0],
};

/** An ml-random-forest RandomForestClassifier's toJSON(): two stumps on column 1 of 2. */
const MLJS = {
  name: 'RFClassifier',
  baseModel: {
    indexes: [[1], [1]], n: 1, replacement: false, maxFeatures: 1, nEstimators: 2, treeOptions: {}, isClassifier: true, seed: 1, useSampleBagging: false,
    estimators: [0, 1].map(() => ({ name: 'DTClassifier', options: { kind: 'classifier' }, root: { splitColumn: 0, splitValue: 0, left: { distribution: [[1, 0]] }, right: { distribution: [[0, 1]] } } })),
  },
};

async function run(model: string, input: Float32Array, rows: number, inputName = 'input'): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(model);
  try {
    return await session.run({ [inputName]: new ort.Tensor('float32', input, [rows, input.length / rows]) });
  } finally {
    await session.release();
  }
}

describe('onnx-forge convert', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(() => {
    writeFileSync(file('regression.txt'), lightgbm());
    writeFileSync(file('xgb.json'), JSON.stringify(XGBOOST));
    writeFileSync(file('forest.json'), JSON.stringify(MLJS));
    const good = lightgbm();
    writeFileSync(file('truncated.txt'), good.slice(0, Math.floor(good.length * 0.6)));
    writeFileSync(file('lambdarank.txt'), lightgbm({ objective: 'lambdarank' }));
    writeFileSync(file('categorical.txt'), lightgbm({ decisionType: 1 }));
    writeFileSync(file('linear.txt'), lightgbm({ linear: true }));
    writeFileSync(file('nomodel.json'), JSON.stringify({ hello: 'world', values: [1, 2, 3] }));
    writeFileSync(file('null.json'), 'null\n');
  });
  afterAll(() => tmp.cleanup());

  it('converts a LightGBM text model; the ONNX model predicts as LightGBM', async () => {
    const r = await runCliProcess(['convert', file('regression.txt'), '-o', file('regression.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('LightGBM model, objective "regression", 2 trees, 3 features, regressor');
    expect(r.stdout).toContain('outputs variable');
    const out = await run(file('regression.onnx'), new Float32Array([0, 0, -2, 1, 0, 0, NaN, 0, NaN]), 3);
    // Row 3: NaN with missing type None is read as 0 (0 <= 0.5 left, 0 > -1 right).
    expect(Array.from(out.variable?.data as Float32Array)).toEqual([11, 22, 21]);
  });

  it('counts in words that fit the number: 1 tree, 2 features', async () => {
    const r = await runCliProcess(['convert', file('xgb.json'), '-o', file('xgb-text.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('XGBoost model, objective "binary:logistic", 1 tree, 2 features, 2 classes');
  });

  it('reads a model file written in UTF-16 with a byte-order mark (Windows PowerShell\'s > writes one)', async () => {
    writeFileSync(file('utf16.txt'), Buffer.from(`\ufeff${lightgbm()}`, 'utf16le'));
    const r = await runCliProcess(['convert', file('utf16.txt'), '-o', file('utf16.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    const out = await run(file('utf16.onnx'), new Float32Array([0, 0, -2, 1, 0, 0]), 2);
    expect(Array.from(out.variable?.data as Float32Array)).toEqual([11, 22]);
  });

  it('--json reports the conversion; --from, --raw-score and --input-name apply', async () => {
    const r = await runCliProcess(['convert', file('xgb.json'), '-o', file('xgb.onnx'), '--from', 'xgboost', '--raw-score', '--input-name', 'x', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({ format: 'xgboost', objective: 'binary:logistic', trees: 1, features: 2, classes: 2, outputs: ['label', 'raw_score'], rawScore: true });
    const out = await run(file('xgb.onnx'), new Float32Array([0, 0, 0, 1, 0, NaN]), 3, 'x');
    // f1 < 0.5 -> -1, else 1; NaN default left; base_score 0.5 is margin 0.
    expect(Array.from(out.raw_score?.data as Float32Array)).toEqual([-1, 1, -1]);
    expect(Array.from(out.label?.data as BigInt64Array, Number)).toEqual([0, 1, 0]);
  });

  /** The XGBoost test model as two rounds of its first tree, saved by early stopping with `best` as its best_iteration. */
  const writeEarlyStopped = (name: string, best: number) => {
    const tree = XGBOOST.learner.gradient_booster.model.trees[0];
    const stopped = structuredClone(XGBOOST) as typeof XGBOOST & { learner: { attributes: Record<string, string> } };
    stopped.learner.attributes = { best_iteration: String(best), best_score: '0.1' };
    Object.assign(stopped.learner.gradient_booster.model, { tree_info: [0, 0], trees: [tree, tree], iteration_indptr: [0, 1, 2] });
    writeFileSync(file(name), JSON.stringify(stopped));
  };

  it('an early-stopped XGBoost model: every round with a warning, --best-iteration keeps the rounds up to the best', async () => {
    writeEarlyStopped('stopped.json', 0);
    const all = await runCliProcess(['convert', file('stopped.json'), '-o', file('stopped.onnx')]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/2 trees/);
    expect(all.stdout).toMatch(/^warning: trained with early stopping \(best_iteration 0: its first round, 1 of 2 trees\).*--best-iteration/m);
    const best = await runCliProcess(['convert', file('stopped.json'), '-o', file('stopped.best.onnx'), '--best-iteration', '--raw-score', '--json']);
    expect(best.code, best.stderr).toBe(0);
    expect(jsonOf(best)).toMatchObject({ trees: 1, warnings: [expect.stringMatching(/^kept the rounds up to best_iteration 0/)] });
    const out = await run(file('stopped.best.onnx'), new Float32Array([0, 0, 0, 1]), 2);
    expect(Array.from(out.raw_score?.data as Float32Array)).toEqual([-1, 1]);
    // On a model without early stopping the flag is a usage error.
    const never = await runCliProcess(['convert', file('xgb.json'), '-o', file('never.onnx'), '--best-iteration']);
    expect(never.code).toBe(2);
    expect(never.stderr).toContain(': --best-iteration: the model has no best_iteration (it was trained without early stopping); convert it without --best-iteration');
  });

  it('best_iteration past the model\'s rounds: --best-iteration refuses the inconsistent model (exit 3); without it every round, with a warning', async () => {
    writeEarlyStopped('past.json', 7);
    const out = file('past.onnx');
    const best = await runCliProcess(['convert', file('past.json'), '-o', out, '--best-iteration']);
    expect(best.code).toBe(3);
    expect(best.stderr).toBe(
      'onnx-forge convert: error FORGE_INVALID_MODEL: XGBoost model: learner.attributes.best_iteration is 7, but the model has only 2 rounds (best_iteration counts from 0): ' +
        'the model is inconsistent, so --best-iteration cannot keep the rounds up to it; convert it without --best-iteration to use every round, as Booster.predict does\n',
    );
    expect(existsSync(out)).toBe(false);
    const all = await runCliProcess(['convert', file('past.json'), '-o', out, '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(jsonOf(all)).toMatchObject({ trees: 2, warnings: ['learner.attributes.best_iteration is 7, but the model has only 2 rounds (best_iteration counts from 0); the ONNX model uses every round, as Booster.predict does'] });
    // LightGBM's text model records no best_iteration (save_model writes the trees up to it), so the
    // flag is refused there whatever the file holds.
    expect((await runCliProcess(['convert', file('regression.txt'), '-o', out, '--best-iteration'])).code).toBe(2);
  });

  it('--missing reads an XGBoost input equal to it as missing (default_left), as a DMatrix built with that missing does', async () => {
    // The root splits feature 1 at 0.5, missing left: [0, 1] goes right (raw 1), unless 1 is the missing value.
    const plain = await runCliProcess(['convert', file('xgb.json'), '-o', file('xgb-plain.onnx'), '--raw-score']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(Array.from((await run(file('xgb-plain.onnx'), new Float32Array([0, 1]), 1)).raw_score?.data as Float32Array)).toEqual([1]);
    const r = await runCliProcess(['convert', file('xgb.json'), '-o', file('xgb-missing.onnx'), '--raw-score', '--missing', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(Array.from((await run(file('xgb-missing.onnx'), new Float32Array([0, 1, 0, 0]), 2)).raw_score?.data as Float32Array)).toEqual([-1, -1]);
    const bad = await runCliProcess(['convert', file('xgb.json'), '-o', file('never.onnx'), '--missing', 'none']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--missing takes a number (or NaN), got "none"');
    const lightgbm = await runCliProcess(['convert', file('regression.txt'), '-o', file('never.onnx'), '--missing', '-999']);
    expect(lightgbm.code).toBe(2);
    expect(lightgbm.stderr).toMatch(/: --missing applies to XGBoost models; a LightGBM model reads only NaN as missing/);
    expect(existsSync(file('never.onnx'))).toBe(false);
  });

  it('converts an mljs forest from its JSON', async () => {
    const r = await runCliProcess(['convert', file('forest.json'), '-o', file('forest.onnx'), '--num-features', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mljs model, objective "RFClassifier", 2 trees, 3 features, 2 classes');
    const out = await run(file('forest.onnx'), new Float32Array([0, -1, 0, 0, 1, 0]), 2);
    expect(Array.from(out.label?.data as BigInt64Array, Number)).toEqual([0, 1]);
    expect(r.stdout).not.toContain('note:');
    const inferred = await runCliProcess(['convert', file('forest.json'), '-o', file('forest2.onnx')]);
    expect(inferred.stdout).toContain('note: 2 input columns, the last one a tree reads; pass --num-features N');
  });

  it('--json carries the notes the text output prints', async () => {
    const inferred = await runCliProcess(['convert', file('forest.json'), '-o', file('forest3.onnx'), '--json']);
    expect(inferred.code, inferred.stderr).toBe(0);
    expect(jsonOf(inferred)).toMatchObject({ features: 2, warnings: [], notes: ['2 input columns, the last one a tree reads; pass --num-features N if the training rows were wider'] });
    const given = await runCliProcess(['convert', file('forest.json'), '-o', file('forest4.onnx'), '--num-features', '3', '--json']);
    expect(jsonOf(given)).toMatchObject({ features: 3, notes: [] });
  });

  it('--num-features below the columns the trees read is a usage error (exit 2) naming the flag', async () => {
    const out = file('narrow.onnx');
    const r = await runCliProcess(['convert', file('forest.json'), '-o', out, '--num-features', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('onnx-forge convert: error FORGE_INVALID_OPTIONS: --num-features 1 is smaller than the 2 input columns the mljs model reads (see: onnx-forge convert --help)\n');
    const j = await runCliProcess(['convert', file('forest.json'), '-o', out, '--num-features', '1', '--json']);
    expect(j.code).toBe(2);
    expect(jsonOf<{ error: { code: string; details: Record<string, unknown> } }>(j).error).toMatchObject({ code: 'FORGE_INVALID_OPTIONS', details: { flag: 'num-features', required: 2 } });
    expect(existsSync(out)).toBe(false);
  });

  it('a flag for another format than the model\'s is a usage error (exit 2) naming the flag and the format it applies to', async () => {
    const cases: [string, string[], RegExp][] = [
      ['regression.txt', ['--num-features', '5'], /: --num-features applies to mljs models; a LightGBM model records its input width/],
      ['xgb.json', ['--num-features', '5'], /: --num-features applies to mljs models; an XGBoost model records its input width/],
      ['regression.txt', ['--best-iteration'], /: --best-iteration applies to XGBoost models; a LightGBM model is saved with its best iteration already/],
      ['forest.json', ['--best-iteration'], /: --best-iteration applies to XGBoost models; an mljs model has no boosting rounds/],
      ['forest.json', ['--raw-score'], /: --raw-score applies to boosted models \(LightGBM, XGBoost\); an mljs model \(RFClassifier\) has no raw margins — convert it without --raw-score /],
    ];
    for (const [model, flags, message] of cases) {
      const out = file('other-format.onnx');
      const r = await runCliProcess(['convert', file(model), '-o', out, ...flags]);
      expect(r.code, `${model} ${flags.join(' ')}`).toBe(2);
      expect(r.stderr).toMatch(/^onnx-forge convert: error FORGE_INVALID_OPTIONS: /);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('messages name the flags, not the library\'s option names', async () => {
    const blank = await runCliProcess(['convert', file('regression.txt'), '-o', file('blank.onnx'), '--input-name', ' ']);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toBe('onnx-forge convert: error FORGE_INVALID_OPTIONS: --input-name must be a non-empty string (see: onnx-forge convert --help)\n');
    const clash = await runCliProcess(['convert', file('regression.txt'), '-o', file('blank.onnx'), '--input-name', 'variable']);
    expect(clash.stderr).toContain(': --input-name "variable" is also the name of an output');
    const wrong = await runCliProcess(['convert', file('regression.txt'), '-o', file('wrong.onnx'), '--from', 'xgboost']);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('the content looks like a LightGBM model: convert it with --from lightgbm, or without --from to guess the format\n');
    for (const r of [blank, clash, wrong]) expect(r.stderr).not.toMatch(/inputName|rawScore|numFeatures|bestIteration|\{ from/);
  });

  it.skipIf(!existsSync(FIXTURES))('converts the 10-class LightGBM fixture', async () => {
    const r = await runCliProcess(['convert', path.join(FIXTURES, 'multiclass_digits.txt'), '-o', file('digits.onnx'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({ format: 'lightgbm', trees: 250, features: 64, classes: 10, outputs: ['label', 'probabilities'] });
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'multiclass_digits.expected.json'), 'utf8')) as { inputs: number[][]; prediction: number[][] };
    const out = await run(file('digits.onnx'), Float32Array.from(expected.inputs.slice(0, 5).flat()), 5);
    const probs = out.probabilities?.data as Float32Array;
    expected.prediction.slice(0, 5).flat().forEach((p, i) => expect(Math.abs((probs[i] as number) - p)).toBeLessThanOrEqual(1e-5 * p));
  });

  const refused: [string, string, RegExp][] = [
    ['truncated.txt', 'FORGE_INVALID_MODEL', /truncated/],
    ['lambdarank.txt', 'FORGE_UNSUPPORTED_MODEL', /objective "lambdarank" is not supported/],
    ['categorical.txt', 'FORGE_UNSUPPORTED_MODEL', /categorical split/],
    ['linear.txt', 'FORGE_UNSUPPORTED_MODEL', /linear tree/],
    ['nomodel.json', 'FORGE_INVALID_MODEL', /not a model this converter reads/],
    // Valid JSON, so not "nor JSON": JSON that is no model of any known format.
    ['null.json', 'FORGE_INVALID_MODEL', /: the text is JSON \(null\) but not a model of any known format; expected a LightGBM model\.txt/],
  ];
  for (const [name, code, message] of refused) {
    it(`exits 3 for ${name} (${code}), one error line, no output file left behind`, async () => {
      const out = file(`${name}.onnx`);
      const before = readdirSync(tmp.dir).length;
      const r = await runCliProcess(['convert', file(name), '-o', out]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`^onnx-forge convert: error ${code}: `));
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      assertNoStack(r);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(tmp.dir)).toHaveLength(before);
      const j = await runCliProcess(['convert', file(name), '-o', out, '--json']);
      expect(j.code).toBe(3);
      expect(jsonOf<{ error: { code: string } }>(j).error.code).toBe(code);
    });
  }

  it('exits 1 for a file that cannot be read, 2 for a wrong command line', async () => {
    // Worded as the other commands word a missing input (inspect, fp16, ...), with the path as given.
    const missing = await runCliProcess(['convert', 'absent.txt', '-o', file('absent.onnx')], { cwd: tmp.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('onnx-forge convert: error FORGE_IO: cannot read model "absent.txt": the file does not exist\n');
    const inspected = await runCliProcess(['inspect', 'absent.txt'], { cwd: tmp.dir });
    expect(inspected.stderr.replace('inspect', 'convert')).toBe(missing.stderr);
    const json = await runCliProcess(['convert', 'absent.txt', '-o', file('absent.onnx'), '--json'], { cwd: tmp.dir });
    expect(json.code).toBe(1);
    expect(jsonOf<{ error: { code: string; message: string; details: Record<string, unknown> } }>(json).error).toEqual({
      code: 'FORGE_IO',
      message: 'cannot read model "absent.txt": the file does not exist',
      details: { path: 'absent.txt', errno: 'ENOENT' },
    });
    const folder = await runCliProcess(['convert', tmp.dir, '-o', file('absent.onnx')]);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain(`cannot read model "${tmp.dir}": the path is a folder, not a model file`);
    expect(existsSync(file('absent.onnx'))).toBe(false);
    for (const args of [['-o', file('x.onnx'), '--from', 'catboost'], [], ['-o', file('x.onnx'), '--num-features', 'many']]) {
      const r = await runCliProcess(['convert', file('regression.txt'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(existsSync(file('x.onnx'))).toBe(false);
  });
});
