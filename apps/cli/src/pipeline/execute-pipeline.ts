import { formatPipeline, type PassInstance, type PassRegistry, type PipelineReport } from '@onnx-forge/core';
import type { CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import { UsageError } from '../framework/usage-error.js';
import { checkOutputPath, outputTarget } from './output-path.js';
import { pipelineJson, printPipelineResult } from './pipeline-report.js';
import { recordOutput } from './run-files.js';
import { runPipeline, type PipelineJob } from './run-pipeline.js';

/** Flags of every command that writes a transformed model (run, fp16, quantize). */
export const OUTPUT_FLAGS: readonly FlagSpec[] = [
  { name: 'output', short: 'o', kind: 'string', valueName: 'FILE', description: 'where to write the result (written to a temporary file, then renamed; nothing is written if a pass fails)' },
  { name: 'force', kind: 'boolean', description: 'allow --output to name the input model itself (it is replaced)' },
  {
    name: 'external-data',
    kind: 'boolean',
    negatable: true,
    description: 'write weights of 1 KB and more to one side file FILE.data',
    defaultText: 'inline unless the model passes protobuf\'s 2 GiB limit',
  },
  {
    name: 'stream',
    kind: 'boolean',
    negatable: true,
    description: 'keep the weights in the input\'s files and stream them through the passes to the output a tensor at a time (memory holds the graph and a few tensors, not the model)',
    defaultText: 'for inputs whose weights add up to 1 GiB or more',
  },
  { name: 'decisions', kind: 'boolean', description: 'list the decision (converted, kept...) and its reason for every node, not only the summary by op type' },
  { name: 'no-check', kind: 'boolean', description: 'do not run the checker on the input and after every pass' },
];

/**
 * Where the command writes, checked before any work: given, a file that can be created, and not the
 * input (unless --force); recorded for the run, so it is refused once the input is read if it (or its
 * side file) holds the input's external data.
 */
export function outputPath(ctx: CommandContext): string {
  const output = ctx.args.string('output');
  if (!output) throw new UsageError('missing --output FILE (-o FILE)', ctx.command);
  checkOutputPath(ctx.args.positional(0), output, { cwd: ctx.io.cwd, force: ctx.args.bool('force') === true, command: ctx.command });
  const target = outputTarget(output, ctx.io.cwd, ctx.command);
  const written = ctx.args.bool('external-data') === true ? [target, `${target}.data`] : [target];
  recordOutput(ctx.progress, { given: output, written, command: ctx.command });
  return output;
}

/** The output flags a pipeline job takes from the command line. */
export function outputOptions(ctx: CommandContext): { externalData?: boolean; stream?: boolean; check: boolean } {
  const externalData = ctx.args.bool('external-data');
  const stream = ctx.args.bool('stream');
  return { ...(externalData === undefined ? {} : { externalData }), ...(stream === undefined ? {} : { stream }), check: ctx.args.bool('no-check') !== true };
}

/** The pipeline as text, showing only options that differ from each pass's defaults. */
export function describePipeline(passes: readonly PassInstance<object>[] | PipelineReport['passes'], registry: PassRegistry): string {
  return formatPipeline(
    passes.map((p) => {
      const specs = registry.get(p.name)?.optionSpecs as Record<string, { default: unknown }> | undefined;
      const options = Object.fromEntries(
        Object.entries(p.options as Record<string, unknown>).filter(([k, v]) => !specs?.[k] || JSON.stringify(specs[k].default) !== JSON.stringify(v)),
      );
      return { name: p.name, options };
    }),
  );
}

/** Runs configured passes over `<model>` into `--output` and prints the report. */
export async function executePipeline(
  ctx: CommandContext,
  registry: PassRegistry,
  passes: readonly PassInstance<object>[],
  services: PipelineJob['services'] = {},
): Promise<void> {
  const output = outputPath(ctx);
  const result = await runPipeline({ input: ctx.args.positional(0), output, passes, services, ...outputOptions(ctx) }, ctx.progress, ctx.io.now);
  const text = describePipeline(passes, registry);
  const decisions = ctx.args.bool('decisions') === true;
  if (ctx.json) ctx.printJson(pipelineJson(result, text, decisions));
  else ctx.print(...printPipelineResult(result, text, decisions));
}
