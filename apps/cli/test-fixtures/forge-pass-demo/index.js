// A plugin as ARCHITECTURE.md describes it: a package that depends only on @onnx-forge/core and
// exports passes made with definePass. Plain JavaScript, as a third party might publish it.
import { definePass } from '@onnx-forge/core';

/** Sets producer_name and records a decision per node, with progress events: visible, harmless. */
export const stampProducer = definePass({
  name: 'stamp-producer',
  description: 'sets producer_name and looks at every node (demo)',
  options: {
    producer: { type: 'string', default: 'forge-pass-demo', description: 'the producer name to write' },
  },
  run(model, options, ctx) {
    model.proto.producerName = options.producer;
    const nodes = [...model.allNodes()];
    nodes.forEach(({ node, graph }, i) => {
      ctx.decide(graph.path, node, node.opType === 'Relu' ? 'kept' : 'seen', node.opType === 'Relu' ? 'demo: Relu is left alone' : 'demo: looked at');
      ctx.progress(i + 1, nodes.length, node.name);
    });
    ctx.count('nodesSeen', nodes.length);
  },
});

/** Always throws: the run must stop and write nothing. */
export const failAlways = definePass({
  name: 'fail-always',
  description: 'throws (demo)',
  options: {},
  run() {
    throw new Error('the demo pass always fails');
  },
});

/** Leaves an undefined input behind: the checker after the pass must catch it. */
export const breakGraph = definePass({
  name: 'break-graph',
  description: 'points the first node at a value nobody defines (demo)',
  options: {},
  run(model) {
    const first = model.graph.nodes[0];
    if (first) first.input[0] = 'defined_nowhere';
  },
});

export const passes = [stampProducer, failAlways, breakGraph];
