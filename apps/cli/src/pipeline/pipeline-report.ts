import path from 'node:path';
import type { PassReport } from '@onnx-forge/core';
import { formatBytes } from '@onnx-forge/core';
import { formatChange, formatCount, formatDuration, table } from '../framework/format.js';
import type { PipelineResult } from './run-pipeline.js';
import { summarizeDecisions, type DecisionGroup } from './summarize-decisions.js';

const REASONS_SHOWN = 6;

function outputBytes(r: PipelineResult): number {
  return r.output.bytes + (r.output.externalData?.bytes ?? 0);
}

/** The `--json` document of a pipeline run (run, fp16 and quantize add their checks to it). */
export type PipelineJson = ReturnType<typeof pipelineJson>;

/** The `--json` document of a pipeline run (run, fp16, quantize). */
export function pipelineJson(result: PipelineResult, pipeline: string, withDecisions: boolean) {
  return {
    input: result.input,
    output: { ...result.output, totalBytes: outputBytes(result) },
    pipeline,
    durationMs: result.durationMs,
    passesMs: result.report.durationMs,
    inputWarnings: result.report.inputProblems,
    inputRepairs: result.report.inputRepairs,
    passes: result.report.passes.map((p) => {
      const { decisions, ...rest } = p;
      return { ...rest, decisionSummary: summarizeDecisions(decisions), ...(withDecisions ? { decisions } : {}) };
    }),
  };
}

/** "MatMul ×12, Add ×3: reason" lines for one action. */
function actionLines(groups: readonly DecisionGroup[]): string[] {
  const byReason = new Map<string, DecisionGroup[]>();
  for (const g of groups) {
    const list = byReason.get(g.reason) ?? [];
    list.push(g);
    byReason.set(g.reason, list);
  }
  const reasons = [...byReason.entries()].sort((a, b) => sum(b[1]) - sum(a[1]));
  const lines = reasons.slice(0, REASONS_SHOWN).map(([reason, gs]) => {
    const ops = gs.map((g) => `${g.opType} ×${g.count}`).join(', ');
    return reason ? `${ops}: ${reason}` : ops;
  });
  if (reasons.length > REASONS_SHOWN) lines.push(`... ${reasons.length - REASONS_SHOWN} more reasons (--decisions lists every node)`);
  return lines;
}

/** Counts with thousands separators; fractions (a cosine, a share) with 6 significant digits, not rounded to 3 decimals. */
function formatStat(v: number): string {
  return Number.isInteger(v) ? formatCount(v) : String(Number(v.toPrecision(6)));
}

function sum(groups: readonly DecisionGroup[]): number {
  return groups.reduce((a, g) => a + g.count, 0);
}

function passLines(p: PassReport, index: number, total: number, withDecisions: boolean): string[] {
  const out = [`[${index + 1}/${total}] ${p.name}  ${formatDuration(p.durationMs)}`];
  out.push(`  nodes ${formatCount(p.nodesBefore)} -> ${formatCount(p.nodesAfter)}, weights ${formatBytes(p.bytesBefore)} -> ${formatBytes(p.bytesAfter)} (${formatChange(p.bytesBefore, p.bytesAfter)})`);
  const groups = summarizeDecisions(p.decisions);
  const actions = [...new Set(groups.map((g) => g.action))];
  const rows: string[][] = [];
  for (const action of actions) {
    const lines = actionLines(groups.filter((g) => g.action === action));
    const count = sum(groups.filter((g) => g.action === action));
    lines.forEach((l, i) => rows.push([i === 0 ? `${action} (${formatCount(count)})` : '', l]));
  }
  const stats = Object.entries(p.stats);
  if (stats.length) rows.push(['stats', stats.map(([k, v]) => `${k} ${typeof v === 'number' ? formatStat(v) : v}`).join(', ')]);
  for (const w of p.warnings) rows.push(['warning', w]);
  out.push(...table(rows, { indent: '  ' }));
  if (withDecisions && p.decisions.length) {
    out.push('  every node:', ...table(p.decisions.map((d) => [d.action, d.opType, d.node, d.graph, d.reason]), { indent: '    ' }));
  }
  return out;
}

/** The text report of a pipeline run. */
export function printPipelineResult(result: PipelineResult, pipeline: string, withDecisions: boolean): string[] {
  const { input, report } = result;
  const outBytes = outputBytes(result);
  const side = result.output.externalData ? ` + external data ${result.output.externalData.path}` : '';
  const inputSide = input.externalData?.paths.length ? ` + external data ${input.externalData.paths.map((p) => path.relative(path.dirname(path.resolve(input.path)), p)).join(', ')}` : '';
  const out = [
    `${input.path}${inputSide} (${formatBytes(input.bytes)}) -> ${result.output.path}${side} (${formatBytes(outBytes)}, ${formatChange(input.bytes, outBytes)}) in ${formatDuration(result.durationMs)}`,
    `pipeline: ${pipeline}`,
  ];
  const inputWarnings = report.inputProblems.length;
  if (inputWarnings) out.push(`input model: ${inputWarnings} checker warning${inputWarnings === 1 ? '' : 's'} (onnx-forge check lists them)`);
  for (const repair of report.inputRepairs) out.push(`input model: ${repair}`);
  report.passes.forEach((p, i) => out.push('', ...passLines(p, i, report.passes.length, withDecisions)));
  return out;
}
