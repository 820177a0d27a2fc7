import { headroomWhat } from '@onnx-forge/graph-ops';
import type { CommandContext } from '../framework/command.js';
import { ExitCode } from '../framework/exit-code.js';
import { table } from '../framework/format.js';
import type { AccuracyCheck } from './accuracy-check.js';
import type { Fp16Check } from './fp16-guard.js';
import { accuracyLines } from './measure-accuracy.js';

const NODES_SHOWN = 20;

function outputTable(check: AccuracyCheck, indent: string): string[] {
  return table(accuracyLines(check.outputs ?? [], check.tolerance), { indent });
}

/** Rows for nodes a search kept out of the lower precision (at most NODES_SHOWN), with why. */
export function nodeRows(nodes: readonly { node: string; sensitivity: number }[], why: (sensitivity: number) => string, indent: string): string[] {
  const rows = table(nodes.slice(0, NODES_SHOWN).map((n) => [n.node, why(n.sensitivity)]), { indent });
  if (nodes.length > NODES_SHOWN) rows.push(`${indent}... ${nodes.length - NODES_SHOWN} more (--json lists them)`);
  return rows;
}

/** What a node's measured sensitivity (the rel-l2 error it adds) says about it. */
export function sensitivityText(precision: string): (sensitivity: number) => string {
  return (s) => {
    if (s === Infinity) return `its output turns NaN or infinite in ${precision}`;
    if (s > 0) return `adds ${s.toExponential(2)} error (rel-l2) in ${precision}`;
    return 'needed to bring the outputs within the tolerance';
  };
}

/** "accuracy against float32 (...):" and one line per output; the reason when the check did not run. */
export function accuracyCheckLines(check: AccuracyCheck, title = 'accuracy against float32'): string[] {
  if (check.skipped) return [`warning: ${check.skipped}`];
  return [`${title} (onnxruntime-node, CPU; ${check.samples ?? 'samples'}; cosine tolerance ${check.tolerance}):`, ...outputTable(check, '  ')];
}

/** The warning for a float16 model that overflows at larger inputs than the check's, or nothing. */
function headroomLines(c: Fp16Check): string[] {
  const h = c.headroom;
  if (!h) return [];
  return [
    `warning: with seeded inputs spread ±${h.scale} (${h.what}), ${headroomWhat(h)} in the written model (against float32); ` +
      `the check above ran on inputs near ±1. If real inputs are that large, run again with --input-scale ${h.scale}${h.ioHint ? ' --keep-io-types' : ''} (or --inputs DIR) and the nodes responsible stay float32.`,
  ];
}

/** The text report of fp16's accuracy check. */
export function fp16CheckLines(c: Fp16Check): string[] {
  if (!c.redone) return ['', ...accuracyCheckLines(c.plain), ...headroomLines(c)];
  const n = c.redone.keptFloat32.length;
  return [
    '',
    ...accuracyCheckLines(c.plain, 'plain float16 conversion (not written) against float32'),
    `redone with fp16-auto: ${n} node${n === 1 ? '' : 's'} kept float32:`,
    ...nodeRows(c.redone.keptFloat32, sensitivityText('float16'), '  '),
    ...accuracyCheckLines(c.redone.check, 'written result against float32'),
    ...headroomLines(c),
  ];
}

/**
 * The error line of a guarded conversion (fp16's fp16-auto redo, quantize --tolerance) whose written
 * result still misses the tolerance on the check's inputs, which the search did not use: the command
 * exits 1 after writing it, as `compare --tolerance` does for a candidate below it.
 */
export function missedToleranceLine(command: string, what: string, output: string, check: AccuracyCheck, remedy = 'a stricter --tolerance so the search leaves more nodes float32'): string | undefined {
  const failed = check.failed ?? [];
  if (!failed.length) return undefined;
  const seeded = check.samples?.includes('seeded') === true;
  return `${command}: ${what}, written to ${output}, misses cosine ${check.tolerance} on ${check.samples ?? 'the check\'s samples'} the search did not use ` +
    `(${failed.map((f) => f.output).join(', ')}); ${seeded ? 'seeded inputs may not resemble real ones: give --inputs DIR with real samples, or ' : 'give more samples, or '}` +
    remedy;
}

/**
 * The exit of a guarded conversion after its report: 1 with the error line on stderr (not part of
 * the report, so even on a terminal; --json says it in its document) when `missed` (missedToleranceLine)
 * says its result misses the tolerance, else nothing (0).
 */
export function missedToleranceExit(ctx: CommandContext, missed: string | undefined): ExitCode | undefined {
  if (!missed) return undefined;
  if (!ctx.json) ctx.io.stderr.write(`${missed}\n`);
  return ExitCode.FAILURE;
}

/** An accuracy check as the --json document gives it (tests read it by this type). */
export type AccuracyCheckJson = ReturnType<typeof accuracyCheckJson>;

/** fp16's accuracy check in the --json document: the plain conversion's, or fp16-auto's after it. */
export type Fp16CheckJson = AccuracyCheckJson & Partial<{
  plain: AccuracyCheckJson;
  redoneWith: 'fp16-auto';
  keptFloat32: NonNullable<Fp16Check['redone']>['keptFloat32'];
  headroom: NonNullable<Fp16Check['headroom']>;
}>;

/** An accuracy check in the --json document. */
export function accuracyCheckJson(check: AccuracyCheck) {
  return { checked: check.outputs !== undefined, tolerance: check.tolerance, samples: check.samples, warning: check.skipped, outputs: check.outputs, failed: check.failed };
}

/** fp16's accuracy check in the --json document (the models themselves left out). */
export function fp16CheckJson(c: Fp16Check): Fp16CheckJson {
  const headroom = c.headroom ? { headroom: c.headroom } : {};
  if (!c.redone) return { ...accuracyCheckJson(c.plain), ...headroom };
  return { ...accuracyCheckJson(c.redone.check), plain: accuracyCheckJson(c.plain), redoneWith: 'fp16-auto' as const, keptFloat32: c.redone.keptFloat32, ...headroom };
}
