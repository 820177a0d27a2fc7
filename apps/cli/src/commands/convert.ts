import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { convertModel, type ConvertOptions } from '@onnx-forge/convert';
import { ForgeError, ForgeErrorCode, isForgeError, unreadableFile, writeModel } from '@onnx-forge/core';
import { defineCommand, type CommandContext } from '../framework/command.js';
import { cancellable } from '../framework/ctrl-c.js';
import { formatBytes } from '@onnx-forge/core';
import { UsageError } from '../framework/usage-error.js';
import { checkOutputPath } from '../pipeline/output-path.js';

const FORMAT_NAMES = { lightgbm: 'LightGBM', xgboost: 'XGBoost', mljs: 'mljs' } as const;

/** ConvertOptions names as the flags that set them. */
const OPTION_FLAGS: Readonly<Record<string, string>> = {
  from: 'from',
  rawScore: 'raw-score',
  inputName: 'input-name',
  numFeatures: 'num-features',
  bestIteration: 'best-iteration',
  missing: 'missing',
};

/**
 * A library message (error or warning) in the command line's terms: the library names its options
 * (`rawScore`, `{ from: "lightgbm" }`), which a CLI user never typed.
 */
export function inFlagTerms(message: string): string {
  return message
    .replace(/\{ from: "(\w+)" \}/g, '--from $1')
    .replace(/\bwithout from\b/g, 'without --from')
    // "missing" is an ordinary word in many messages: only the option's own sentences name the flag.
    .replace(/^missing (applies|must)\b/, '--missing $1')
    .replace(/\b(rawScore|inputName|numFeatures|bestIteration)\b/g, (name) => `--${OPTION_FLAGS[name] ?? name}`);
}

/** A library error as the CLI reports it: flag names, and a bad option value as a usage error (exit 2). */
function cliError(e: unknown, command: string): unknown {
  if (!isForgeError(e)) return e;
  const message = inFlagTerms(e.message);
  if (e.code === ForgeErrorCode.INVALID_OPTIONS) {
    const option = e.details.option;
    const flag = typeof option === 'string' ? OPTION_FLAGS[option] : undefined;
    return new UsageError(message, command, { ...e.details, ...(flag === undefined ? {} : { flag }) });
  }
  return message === e.message ? e : new ForgeError(e.code, message, { details: e.details, cause: e });
}

/** "1 tree", "40 trees". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** --missing: a number, NaN included (the DMatrix's missing=-999, or missing=np.nan as given). */
function missingValue(ctx: CommandContext): number | undefined {
  const text = ctx.args.string('missing');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || (Number.isNaN(n) && text.trim() !== 'NaN')) throw new UsageError(`--missing takes a number (or NaN), got "${text}"`, ctx.command, { flag: 'missing' });
  return n;
}

function numFeatures(ctx: CommandContext): number | undefined {
  const text = ctx.args.string('num-features');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--num-features takes a positive integer, got "${text}"`, ctx.command, { flag: 'num-features' });
  return n;
}

export const convertCommand = defineCommand({
  name: 'convert',
  summary: 'Convert a LightGBM, XGBoost or mljs tree model to ONNX (ai.onnx.ml tree ensembles).',
  description:
    'Reads a LightGBM text model (Booster.save_model), an XGBoost model (save_model("model.json"), or the binary ' +
    'UBJSON of save_model("model.ubj"), XGBoost\'s default since 2.1) or an ' +
    'mljs random forest / CART tree (toJSON() written as JSON) and writes an ONNX model that returns what the ' +
    'library\'s predict returns: classifiers output label (int64) and probabilities [N, classes], regressors ' +
    'variable [N, 1]; the input is one float tensor [N, features]. The format is guessed from the content ' +
    'unless --from is given. What a model uses that cannot be converted faithfully (categorical splits, linear ' +
    'trees, an unknown objective, a median forest) is refused, never converted wrong.',
  args: [{ name: 'model', description: 'model.txt (LightGBM), model.json or model.ubj (XGBoost) or an mljs model\'s JSON' }],
  flags: [
    { name: 'output', short: 'o', kind: 'string', valueName: 'FILE', description: 'where to write the ONNX model (written to a temporary file, then renamed)' },
    { name: 'force', kind: 'boolean', description: 'allow --output to name the input file itself (it is replaced)' },
    { name: 'from', kind: 'string', valueName: 'FORMAT', choices: ['lightgbm', 'xgboost', 'mljs'], description: 'the source format', defaultText: 'guessed from the content' },
    { name: 'raw-score', kind: 'boolean', description: 'LightGBM, XGBoost: output raw scores (margins) instead of the objective\'s transform, as LightGBM\'s predict(raw_score=True)' },
    { name: 'best-iteration', kind: 'boolean', description: 'XGBoost only: keep only the rounds up to best_iteration (early stopping), as its scikit-learn predict does; without it every round, as Booster.predict' },
    { name: 'missing', kind: 'string', valueName: 'VALUE', description: 'XGBoost only: the value its DMatrix was built with as missing (DMatrix(X, missing=-999)), which XGBoost does not save; inputs equal to it are read as missing, as NaN always is' },
    { name: 'input-name', kind: 'string', valueName: 'NAME', description: 'name of the model input', defaultText: 'input' },
    { name: 'num-features', kind: 'string', valueName: 'N', description: 'mljs only: the input width, when the training rows had columns no tree reads (at least the columns the trees read)' },
  ],
  examples: [
    'onnx-forge convert model.txt -o model.onnx',
    'onnx-forge convert model.json -o model.onnx --from xgboost --raw-score',
    'onnx-forge convert forest.json -o forest.onnx --num-features 8 --json',
  ],
  exitNotes: [
    'convert exits 3 for a file that is not a supported model: a truncated or damaged LightGBM file, JSON that is no ' +
      'model (FORGE_INVALID_MODEL), or a model using what cannot be converted, such as an unknown objective, a ' +
      'categorical split or linear trees (FORGE_UNSUPPORTED_MODEL). A file that cannot be read or written exits 1 ' +
      '(FORGE_IO). Nothing is written unless the conversion succeeds.',
    'A flag for another format than the model\'s (--num-features on a LightGBM or XGBoost model, --best-iteration on a ' +
      'LightGBM or mljs one, --raw-score on an mljs one) is refused, never ignored, and so is a value the model rules out ' +
      '(--num-features below the columns its trees read, --best-iteration on a model without best_iteration): exit 2 ' +
      '(FORGE_INVALID_OPTIONS). --best-iteration on an XGBoost model whose best_iteration is past its rounds exits 3 ' +
      '(FORGE_INVALID_MODEL: the file is inconsistent).',
  ],
  async run(ctx) {
    const file = ctx.args.positional(0);
    const output = ctx.args.string('output');
    if (!output) throw new UsageError('missing --output FILE (-o FILE)', ctx.command);
    checkOutputPath(file, output, { cwd: ctx.io.cwd, force: ctx.args.bool('force') === true, command: ctx.command });
    const options: ConvertOptions = {};
    const from = ctx.args.string('from');
    if (from !== undefined) options.from = from as NonNullable<ConvertOptions['from']>;
    if (ctx.args.bool('raw-score') === true) options.rawScore = true;
    if (ctx.args.bool('best-iteration') === true) options.bestIteration = true;
    const inputName = ctx.args.string('input-name');
    if (inputName !== undefined) options.inputName = inputName;
    const width = numFeatures(ctx);
    if (width !== undefined) options.numFeatures = width;
    const missing = missingValue(ctx);
    if (missing !== undefined) options.missing = missing;

    ctx.progress.start(`reading ${file}`, { transient: true });
    // Bytes, not text: the library reads UTF-8 and, by its byte-order mark, UTF-16 (what Windows
    // PowerShell's `>` writes), which a read as UTF-8 would turn into no model at all.
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path.resolve(ctx.io.cwd, file));
    } catch (e) {
      // Worded as every other command words an input it cannot read.
      throw unreadableFile(file, e, 'model');
    }
    ctx.progress.start('converting', { transient: true });
    let result: ReturnType<typeof convertModel>;
    try {
      result = convertModel(bytes, options);
    } catch (e) {
      throw cliError(e, ctx.command);
    }
    const model = result.model;
    const written = await cancellable(ctx.progress, `cancelling: ${output} is not written`, (signal) => {
      ctx.progress.start(`writing ${output}`, { transient: true });
      return writeModel(model, path.resolve(ctx.io.cwd, output), { signal });
    });
    ctx.progress.end();
    const { report } = result;
    const warnings = report.warnings.map(inFlagTerms);
    const notes: string[] = [];
    if (report.format === 'mljs' && width === undefined) {
      // mljs's JSON does not record the training width; a model that never reads the last columns
      // would otherwise surprise its caller with a narrower input.
      notes.push(`${report.features} input columns, the last one a tree reads; pass --num-features N if the training rows were wider`);
    }
    if (ctx.json) {
      ctx.printJson({ input: file, output, bytes: written.bytes, ...report, warnings, notes });
      return;
    }
    const classes = report.classes === undefined ? 'regressor' : `${report.classes} classes`;
    ctx.print(
      `${file}: ${FORMAT_NAMES[report.format]} model, objective "${report.objective}", ${count(report.trees, 'tree')}, ${count(report.features, 'feature')}, ${classes}`,
      `wrote ${output} (${formatBytes(written.bytes)}); input ${options.inputName ?? 'input'} float [N, ${report.features}], outputs ${report.outputs.join(', ')}${report.rawScore ? ' (raw scores)' : ''}`,
    );
    for (const w of warnings) ctx.print(`warning: ${w}`);
    for (const n of notes) ctx.print(`note: ${n}`);
  },
});
