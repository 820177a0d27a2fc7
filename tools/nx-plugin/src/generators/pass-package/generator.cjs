'use strict';
// Scaffolds a package of onnx-forge passes: it depends only on @onnx-forge/core, exports its pass
// factories (made with definePass) and a `passes` list, so `onnx-forge run --plugin <name>` finds
// them. The generated pass is a small working example (it clears doc strings) with a test.
const { formatFiles, joinPathFragments, names } = require('@nx/devkit');
const { coreVersion, unscoped, writeCommonFiles, packageJsonFor } = require('../shared.cjs');

const NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

async function passPackageGenerator(tree, options) {
  if (!NAME.test(options.name)) throw new Error(`"${options.name}" is not a valid npm package name`);
  const base = unscoped(options.name);
  const pass = options.pass || base.replace(/^forge-pass-/, '').replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z][a-z0-9-]*$/.test(pass)) throw new Error(`pass name "${pass}" must be lower-case letters, digits and dashes`);
  const directory = options.directory || `packages/${base}`;
  if (tree.exists(joinPathFragments(directory, 'package.json'))) throw new Error(`${directory} already holds a package`);
  const symbol = `${names(pass).propertyName}Pass`;

  writeCommonFiles(tree, {
    directory,
    packageJson: packageJsonFor(options.name, `onnx-forge pass "${pass}"`, directory, { '@onnx-forge/core': coreVersion(tree) }),
    references: tree.exists('packages/core/package.json') ? [`${'../'.repeat(directory.split('/').length)}packages/core`] : [],
  });
  tree.write(
    joinPathFragments(directory, `src/${pass}.ts`),
    `import { definePass } from '@onnx-forge/core';

/**
 * ${pass}: clears the doc strings of nodes (an example to replace with your own rewrite).
 * Passes keep no state: everything comes through the model, the options and the context.
 */
export const ${symbol} = definePass({
  name: '${pass}',
  description: 'Clears node doc strings',
  options: {
    keepGraphDoc: { type: 'boolean', default: true, description: 'keep the doc string of the main graph' },
  },
  run(model, options, ctx) {
    for (const graph of model.graphs()) {
      for (const node of graph.nodes) {
        if (node.docString) {
          node.docString = '';
          ctx.count('docStringsCleared');
          ctx.decide(graph.path, node, 'changed', 'doc string cleared');
        }
      }
    }
    if (!options.keepGraphDoc) model.graph.proto.docString = '';
  },
});
`,
  );
  tree.write(
    joinPathFragments(directory, 'src/index.ts'),
    `import { ${symbol} } from './${pass}.js';

export { ${symbol} };

/** The passes this package contributes; the onnx-forge CLI registers them with --plugin ${options.name}. */
export const passes = [${symbol}];
`,
  );
  tree.write(
    joinPathFragments(directory, `src/${pass}.test.ts`),
    `import { ModelBuilder, PassManager, PassRegistry } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { passes, ${symbol} } from './index.js';

function model() {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', [2]);
  const m = b.build();
  m.graph.nodes[0]!.docString = 'made by hand';
  return m;
}

describe('${pass}', () => {
  it('clears node doc strings and reports each node', async () => {
    const m = model();
    const report = await new PassManager().add(${symbol}()).run(m);
    expect(m.graph.nodes[0]!.docString).toBe('');
    expect(report.passes[0]!.stats['docStringsCleared']).toBe(1);
  });

  it('is found by name from a pipeline string', () => {
    const registry = new PassRegistry(passes);
    expect(registry.parse('${pass}{keepGraphDoc=false}')[0]!.options).toEqual({ keepGraphDoc: false });
  });
});
`,
  );
  tree.write(
    joinPathFragments(directory, 'README.md'),
    `# ${options.name}

An [onnx-forge](../../README.md) pass package. It depends only on \`@onnx-forge/core\`.

\`\`\`sh
onnx-forge run model.onnx -o out.onnx --plugin ${options.name} --pipeline "${pass},cleanup"
\`\`\`
`,
  );
  await formatFiles(tree);
  return () => {};
}

module.exports = { default: passPackageGenerator, passPackageGenerator };
