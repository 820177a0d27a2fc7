'use strict';
// Scaffolds a package of onnx-forge passes: it depends only on @onnx-forge/core, exports its pass
// factories (made with definePass) and a `passes` list, so `onnx-forge run --plugin <name>` finds
// them. The generated pass is a small working example of the whole contract: options, statistics,
// per-node decisions, and the services it declares (RUNNER and SAMPLES: it checks its own result by
// running the model before and after), with a test that runs it in onnxruntime-node.
const { formatFiles, joinPathFragments, names } = require('@nx/devkit');
const { coreVersion, referenceTo, unscoped, workspaceVersion, writeCommonFiles, packageJsonFor } = require('../shared.cjs');

const NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

function passSource(pass, symbol) {
  return `import { ForgeError, ForgeErrorCode, RUNNER, SAMPLES, definePass, type LoadedModel, type RunnerTensor } from '@onnx-forge/core';

/** The first element at which two outputs differ (NaN equals NaN), or -1 when they are the same. */
function firstDifference(a: RunnerTensor, b: RunnerTensor): number {
  if (a.type !== b.type || a.dims.join(',') !== b.dims.join(',') || a.data.length !== b.data.length) return 0;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) return i;
  return -1;
}

/**
 * ${pass}: clears the doc strings of nodes (an example to replace with your own rewrite), then checks
 * that the model still gives the same outputs. Passes keep no state: everything comes through the
 * model, the options and the context.
 *
 * It declares the services it uses, and the PassManager refuses to start without them
 * (FORGE_MISSING_SERVICE): RUNNER runs models (the onnx-forge CLI gives onnxruntime-node; in code, pass
 * \`new OrtRunner()\` from @onnx-forge/runtime) and SAMPLES gives inputs (the CLI's --calibration folder,
 * or seeded inputs shaped by the model).
 */
export const ${symbol} = definePass({
  name: '${pass}',
  description: 'Clears node doc strings, and checks on the samples that the outputs did not change',
  options: {
    keepGraphDoc: { type: 'boolean', default: true, description: 'keep the doc string of the main graph' },
  },
  services: [RUNNER, SAMPLES],
  async run(model, options, ctx) {
    const runner = ctx.service(RUNNER);
    const original = await runner.load(model.encode());
    let rewritten: LoadedModel | undefined;
    try {
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

      rewritten = await runner.load(model.encode());
      let samples = 0;
      for await (const feeds of ctx.service(SAMPLES)) {
        const [want, got] = await Promise.all([original.run(feeds), rewritten.run(feeds)]);
        for (const [name, expected] of Object.entries(want)) {
          const actual = got[name];
          const at = actual === undefined ? 0 : firstDifference(expected, actual);
          if (at >= 0) {
            throw new ForgeError(ForgeErrorCode.PASS_FAILED, \`${pass}: output "\${name}" changed (element \${at} of sample \${samples}); the rewrite must not change results\`, {
              details: { pass: '${pass}', output: name, sample: samples, element: at },
            });
          }
        }
        samples++;
      }
      ctx.set('samplesCompared', samples);
    } finally {
      await original.release();
      await rewritten?.release();
    }
  },
});
`;
}

function testSource(pass, symbol) {
  return `import { ModelBuilder, PassManager, PassRegistry, nullThrows, type RunnerFeeds } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { passes, ${symbol} } from './index.js';

function model() {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2, 3]);
  const w = b.initializer('w', new Float32Array([1, -2, 3, -4, 5, -6]), [3, 2]);
  b.output(b.op('Relu', [b.op('MatMul', [x, w])], {}, { outputs: ['y'] }), 'float32', [2, 2]);
  const m = b.build();
  for (const node of m.graph.nodes) node.docString = \`made by hand: \${node.opType}\`;
  return m;
}

const samples: RunnerFeeds[] = [
  { x: { type: 'float32', dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) } },
  { x: { type: 'float32', dims: [2, 3], data: new Float32Array([-1, 0.5, 2, 0, -3, 1]) } },
];

describe('${pass}', () => {
  it('clears node doc strings, reports each node, and checks the outputs in onnxruntime', async () => {
    const m = model();
    const report = await new PassManager({ services: { runner: new OrtRunner(), samples } }).add(${symbol}()).run(m);
    expect(m.graph.nodes.map((n) => n.docString)).toEqual(['', '']);
    const only = nullThrows(report.passes[0], 'one pass ran');
    expect(only.stats).toMatchObject({ docStringsCleared: 2, samplesCompared: 2 });
    expect(only.decisions.map((d) => d.opType)).toEqual(['MatMul', 'Relu']);
  });

  it('refuses to start without the services it declares', async () => {
    await expect(new PassManager().add(${symbol}()).run(model())).rejects.toMatchObject({
      code: 'FORGE_MISSING_SERVICE',
      details: { missing: [expect.objectContaining({ service: 'runner' }), expect.objectContaining({ service: 'samples' })] },
    });
  });

  it('is found by name from a pipeline string, with its options', () => {
    const registry = new PassRegistry(passes);
    expect(registry.parse('${pass}{keepGraphDoc=false}')[0]?.options).toEqual({ keepGraphDoc: false });
  });
});
`;
}

function readmeSource(name, pass, symbol) {
  return `# ${name}

An [onnx-forge](https://www.npmjs.com/package/onnx-forge) pass package: it depends only on
\`@onnx-forge/core\` and exports the pass \`${pass}\` (made with core's \`definePass\`), which clears node doc
strings and checks, by running the model before and after, that the outputs did not change.

## Use it from the command line

\`\`\`sh
npm install onnx-forge ${name}
npx onnx-forge run model.onnx -o out.onnx --plugin ${name} --pipeline "${pass}{keepGraphDoc=false},cleanup"
\`\`\`

\`--plugin\` imports the package and registers every pass it exports. The pass declares the services
\`runner\` and \`samples\`; the CLI provides both (onnxruntime-node, and the samples of \`--calibration DIR\` or
seeded inputs shaped by the model).

## Use it in code

The pass needs a runner and samples, which onnxruntime-node (through \`@onnx-forge/runtime\`) and
\`@onnx-forge/graph-ops\` provide:

\`\`\`sh
npm install ${name} @onnx-forge/core @onnx-forge/runtime @onnx-forge/graph-ops
\`\`\`

\`\`\`ts
import { PassManager, readModel, writeModel } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { ${symbol} } from '${name}';

const model = await readModel('model.onnx');
const samples = [1, 2, 3].map((seed) => seededFeeds(model, { seed }));
const report = await new PassManager({ services: { runner: new OrtRunner(), samples } })
  .add(${symbol}({ keepGraphDoc: false }))
  .run(model);
await writeModel(model, 'out.onnx');
\`\`\`

Without the services the PassManager refuses to start (\`FORGE_MISSING_SERVICE\`), naming each one.

## Develop

\`npx nx build ${unscoped(name)}\` builds ESM and CommonJS with their types (tsup); \`npx nx test ${unscoped(name)}\` runs the
tests (vitest), which run the pass in onnxruntime-node.
`;
}

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
    packageJson: packageJsonFor(options.name, `onnx-forge pass "${pass}"`, directory, {
      dependencies: { '@onnx-forge/core': coreVersion(tree) },
      // The test runs the pass with a real runner (onnxruntime-node through @onnx-forge/runtime).
      devDependencies: { '@onnx-forge/runtime': workspaceVersion(tree, 'packages/runtime') },
      keywords: ['onnx', 'onnx-forge', 'onnx-forge-pass'],
    }),
    references: tree.exists('packages/core/package.json') ? ['core', 'runtime'].map((p) => referenceTo(directory, `packages/${p}`)) : [],
  });
  tree.write(joinPathFragments(directory, `src/${pass}.ts`), passSource(pass, symbol));
  tree.write(
    joinPathFragments(directory, 'src/index.ts'),
    `import { ${symbol} } from './${pass}.js';

export { ${symbol} };

/** The passes this package contributes; the onnx-forge CLI registers them with --plugin ${options.name}. */
export const passes = [${symbol}];
`,
  );
  tree.write(joinPathFragments(directory, `src/${pass}.test.ts`), testSource(pass, symbol));
  tree.write(joinPathFragments(directory, 'README.md'), readmeSource(options.name, pass, symbol));
  await formatFiles(tree);
  return () => {};
}

module.exports = { default: passPackageGenerator, passPackageGenerator };
