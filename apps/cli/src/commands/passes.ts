import { createBuiltinRegistry } from '@onnx-forge/graph-ops';
import { defineCommand } from '../framework/command.js';
import { table } from '../framework/format.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { PLUGIN_FLAG } from '../plugins/plugin-flag.js';

function typeText(t: unknown): string {
  const one = (x: unknown) => (typeof x === 'string' ? x : `${(x as { enum: string[] }).enum.join('|')}`);
  return Array.isArray(t) ? t.map(one).join(' or ') : one(t);
}

export const passesCommand = defineCommand({
  name: 'passes',
  summary: 'List the registered passes and their options, and the named pipelines (for run --pipeline).',
  args: [],
  flags: [PLUGIN_FLAG],
  examples: ['onnx-forge passes', 'onnx-forge passes --plugin ./my-pass --json'],
  async run(ctx) {
    const registry = createBuiltinRegistry();
    const plugins = await loadPlugins(ctx.args.list('plugin'), registry, ctx.io.cwd);
    const fromPlugin = new Map(plugins.flatMap((p) => p.passes.map((name) => [name, p.spec] as const)));
    const passes = registry.list().map((f) => ({
      name: f.passName,
      description: f.description,
      plugin: fromPlugin.get(f.passName) ?? null,
      options: Object.entries(f.optionSpecs as Record<string, { type: unknown; default: unknown; description: string }>).map(([name, s]) => ({
        name,
        type: typeText(s.type),
        default: s.default,
        description: s.description,
      })),
    }));
    const pipelines = registry.pipelines().map((p) => ({ name: p.pipelineName, description: p.description, passes: p.steps }));
    if (ctx.json) {
      ctx.printJson({ passes, pipelines });
      return;
    }
    if (passes.length === 0) {
      ctx.print('No passes are registered.');
      return;
    }
    passes.forEach((p, i) => {
      if (i) ctx.print('');
      ctx.print(`${p.name}${p.plugin ? ` (from ${p.plugin})` : ''}: ${p.description}`);
      ctx.print(...table(p.options.map((o) => [o.name, o.type, `= ${JSON.stringify(o.default)}`, o.description]), { indent: '    ' }));
    });
    if (pipelines.length) {
      ctx.print('', 'Named pipelines (each stands for its passes, which run and report one by one):');
      ctx.print(...table(pipelines.map((p) => [p.name, p.passes, p.description]), { indent: '    ' }));
    }
  },
});
