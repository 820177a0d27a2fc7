import { DataType } from '../dtype.js';
import { attrInt } from '../ir/attributes.js';
import { isDefaultDomain, type Model } from '../ir/model.js';
import { nodeLabel } from '../ir/node-label.js';
import { isExternal, tensorDims, tensorElementCount, tensorToInts } from '../ir/tensor.js';
import { ELEM_TYPES } from './elem-types-analysis.js';

/**
 * Forms that onnxruntime-web's WebGPU provider in its default build (JSEP: kernels written in
 * TypeScript; onnxruntime-web 1.30) loads and runs, answering wrong values without an error, where its
 * WebAssembly provider and the C++ WebGPU provider (`onnxruntime-web/webgpu`) on the same device answer
 * right. Found on a real adapter (Chromium, SwiftShader): graph-ops' webgpu-targets.browser.test.ts
 * keeps a probe of each, which fails once an onnxruntime-web upgrade fixes it.
 * - DequantizeLinear of 8-bit codes with one scale for the whole tensor (per-tensor, or per-axis over
 *   an axis of one index): its vectorized shader reads the codes of the wrong word. Once run, its
 *   program is reused for later DequantizeLinear nodes alike in the page, which then go wrong too.
 * - DequantizeLinear of uint8 codes with a zero point other than 0: subtracted in unsigned integers,
 *   codes below it come out near 2^32.
 * - MatMulNBits with blocks of more than 32.
 * (graph-ops' `target: 'webgpu'` forms avoid all three.)
 */

/** A node JSEP computes wrong, and why. */
export interface JsepMiscompute {
  readonly node: string;
  readonly opType: string;
  readonly why: string;
}

/** The first node of `model` that onnxruntime-web's JSEP WebGPU computes wrong (see above), or undefined. */
export function firstJsepMiscompute(model: Model): JsepMiscompute | undefined {
  const types = model.analysis(ELEM_TYPES);
  for (const { node, graph } of model.allNodes()) {
    const at = { node: nodeLabel(node), opType: node.opType };
    if (node.opType === 'MatMulNBits' && node.domain === 'com.microsoft') {
      const block = attrInt(node, 'block_size', 0);
      if (block > 32) return { ...at, why: `blocks of ${block}: JSEP computes MatMulNBits right with blocks of up to 32` };
      continue;
    }
    if (node.opType !== 'DequantizeLinear' || !isDefaultDomain(node.domain)) continue;
    const [x = '', scaleName = '', zeroName = ''] = node.input;
    const codes = types.get(graph, x);
    if (codes !== DataType.INT8 && codes !== DataType.UINT8) continue;
    const scale = graph.constantValue(scaleName);
    if (scale && tensorElementCount(scale) <= 1) {
      const layout = tensorDims(scale).length === 0 ? 'per-tensor' : 'per-axis over an axis of one index, which is per-tensor';
      return { ...at, why: `8-bit codes with one scale for the whole tensor (${layout}): JSEP's shader reads the codes of the wrong word, and later DequantizeLinear nodes in the page reuse its program` };
    }
    const zero = zeroName ? graph.constantValue(zeroName) : undefined;
    if (codes === DataType.UINT8 && zero && !isExternal(zero) && tensorToInts(zero).some((z) => z !== 0)) {
      return { ...at, why: 'uint8 codes with a zero point: JSEP subtracts it in unsigned integers, so codes below it come out near 2^32' };
    }
  }
  return undefined;
}
