import { DataType, attr, attrInt, attrInts, createNode, getAttribute, onnx, tensorType } from '@onnx-forge/core';
import { refuseAttributeReference, type Adapter } from './adapter.js';

/**
 * Scan-9 dropped the batch axis of Scan-8 (and its sequence_lens input): Scan-8 ran its body over the
 * sequence of each batch entry, states and outputs batched on axis 0. The same computation at opset 9
 * is a Loop over the batch whose body takes entry `i` of every input (Gather on axis 0), runs Scan-9
 * with the unchanged body, and returns its results as scan outputs, which the Loop stacks on a new
 * axis 0. Loop-1 needs one loop-carried value, so the trip count rides along unused.
 * onnx's own adapter only strips the batch axis from the declared shapes, which leaves a model that
 * computes something else unless the batch is 1.
 */
export const scanBatchToLoop: Adapter = (c) => {
  if (getAttribute(c.node, 'scan_input_directions') || !getAttribute(c.node, 'body')) return undefined;
  refuseAttributeReference(c, 'num_scan_inputs');
  refuseAttributeReference(c, 'directions');
  const seqLens = c.node.input[0];
  if (seqLens) return c.refuse(`sequence_lens (${seqLens}) gives each batch entry its own length, which Scan-9 cannot express`);
  const body = getAttribute(c.node, 'body')?.g;
  if (!body) return c.refuse('Scan without a body graph');
  const numScan = attrInt(c.node, 'num_scan_inputs');
  if (numScan === undefined) return c.refuse('Scan-8 needs num_scan_inputs');
  const directions = attrInts(c.node, 'directions');
  const inputs = c.node.input.slice(1);
  const outputs = [...c.node.output];
  if (inputs.length === 0) return c.refuse('Scan-8 without inputs');
  const b = c.base;

  // Trip count: the batch size of the first input.
  const shape = c.fresh(`${b}_batch_shape`);
  const zero = c.int64s(`${b}_zero`, [0], []);
  const batch = c.fresh(`${b}_batch`);
  const shapeNode = c.newNode('Shape', [inputs[0] as string], [shape]);
  const batchNode = c.newNode('Gather', [shape, zero], [batch], { axis: 0 });

  // Loop body: iteration i → Gather(x, i) of every input → Scan-9 → scan outputs.
  const iter = c.fresh(`${b}_i`);
  const condIn = c.fresh(`${b}_cond_in`);
  const condOut = c.fresh(`${b}_cond_out`);
  const carryIn = c.fresh(`${b}_carry_in`);
  const carryOut = c.fresh(`${b}_carry_out`);
  const perEntry = inputs.map((x) => c.fresh(`${x}_entry`));
  const entryOutputs = outputs.map((o) => c.fresh(`${o || b}_entry`));
  const scanAttrs = [attr.graph('body', body), attr.int('num_scan_inputs', numScan)];
  if (directions) scanAttrs.push(attr.ints('scan_input_directions', directions));
  const scan9 = createNode('Scan', perEntry, entryOutputs, { name: c.fresh(`${b}_scan9`) });
  scan9.attribute.push(...scanAttrs);
  const loopBody = new onnx.GraphProto({
    name: c.fresh(`${b}_batch_body`),
    input: [
      new onnx.ValueInfoProto({ name: iter, type: tensorType(DataType.INT64, []) }),
      new onnx.ValueInfoProto({ name: condIn, type: tensorType(DataType.BOOL, []) }),
      new onnx.ValueInfoProto({ name: carryIn, type: tensorType(DataType.INT64, []) }),
    ],
    node: [
      createNode('Identity', [condIn], [condOut], { name: c.fresh(`${b}_cond`) }),
      createNode('Identity', [carryIn], [carryOut], { name: c.fresh(`${b}_carry`) }),
      ...inputs.map((x, k) => createNode('Gather', [x, iter], [perEntry[k] as string], { name: c.fresh(`${x}_take_entry`), attributes: { axis: 0 } })),
      scan9,
    ],
    output: [
      new onnx.ValueInfoProto({ name: condOut, type: tensorType(DataType.BOOL, []) }),
      new onnx.ValueInfoProto({ name: carryOut, type: tensorType(DataType.INT64, []) }),
      ...entryOutputs.map((o, k) => {
        const t = c.elemType(outputs[k] ?? '');
        return t === undefined ? new onnx.ValueInfoProto({ name: o }) : new onnx.ValueInfoProto({ name: o, type: tensorType(t) });
      }),
    ],
  });
  const loop = createNode('Loop', [batch, '', batch], [c.fresh(`${b}_trip_count_unused`), ...outputs], { name: c.fresh(`${b}_over_batch`) });
  loop.attribute.push(attr.graph('body', loopBody));
  c.state.inherit(scan9, c.node);
  c.replaceWith([shapeNode, batchNode, loop], loop);
  return 'Scan-8 over a batch became a Loop over the batch entries around Scan-9 with the same body (directions → scan_input_directions)';
};
