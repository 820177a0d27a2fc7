import { ModelBuilder, mlp, transformerEncoder } from '@onnx-forge/core';
import type { RuntimeBackend } from './backend.js';
import type { OrtSessionOptions } from './session-options.js';

/**
 * Fixtures for the runtime's tests and benchmark, all built with core's model builder (nothing is
 * downloaded), plus a backend wrapper that makes chosen providers fail in chosen phases.
 */

/** y = relu(x W1 + b1) W2 + b2 with x float32 [batch, 4], y float32 [batch, 2]. */
export function tinyMlp(): Uint8Array {
  return mlp({ sizes: [4, 8, 2], seed: 7 }).encode();
}

/** A BERT-like encoder: int64 inputs input_ids, attention_mask, token_type_ids [batch, sequence]. */
export function smallEncoder(options: { layers?: number; hidden?: number; intermediate?: number } = {}): Uint8Array {
  return transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 32, pooler: false, ...options }).encode();
}

/** Feeds for the encoders: ids cycling through the vocabulary, full attention. */
export function encoderFeeds(batch: number, sequence: number, vocab = 50) {
  const n = batch * sequence;
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) ids[i] = BigInt((i * 7 + 3) % vocab);
  return {
    input_ids: { data: ids, dims: [batch, sequence] },
    attention_mask: { data: new BigInt64Array(n).fill(1n), dims: [batch, sequence] },
    token_type_ids: { data: new BigInt64Array(n), dims: [batch, sequence] },
  };
}

/** Every input dtype path at once: x float32 [2, 3] fixed, ids int64 [n], f16 float16 [n], flag bool [1]; outputs cast to float32. */
export function mixedTypesModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 17, graphName: 'mixed' });
  const x = b.input('x', 'float32', [2, 3]);
  const ids = b.input('ids', 'int64', ['n']);
  const f16 = b.input('f16', 'float16', ['n']);
  const flag = b.input('flag', 'bool', [1]);
  b.output(b.op('Mul', [x, b.constant([2])], {}, { outputs: ['x2'] }), 'float32', [2, 3]);
  b.output(b.op('Cast', [ids], { to: 1 }, { outputs: ['ids_f'] }), 'float32', ['n']);
  b.output(b.op('Cast', [f16], { to: 1 }, { outputs: ['f16_f'] }), 'float32', ['n']);
  b.output(b.op('Cast', [flag], { to: 1 }, { outputs: ['flag_f'] }), 'float32', [1]);
  return b.build().encode();
}

/**
 * A stand-in for a precision variant: x float32 [batch, 4] → one output named after the variant, so a
 * test can tell which variant a session loaded. The fp16 one really computes in fp16 (Cast in and out).
 */
export function variantModel(precision: 'fp32' | 'fp16' | 'int8'): Uint8Array {
  const b = new ModelBuilder({ opset: 17, graphName: `variant_${precision}` });
  const x = b.input('x', 'float32', ['batch', 4]);
  let y: string;
  if (precision === 'fp16') y = b.op('Cast', [b.op('Cast', [x], { to: 10 })], { to: 1 }, { outputs: ['out_fp16'] });
  else y = b.op('Identity', [x], {}, { outputs: [`out_${precision}`] });
  b.output(y, 'float32', ['batch', 4]);
  return b.build().encode();
}

/** First feed value that makes test-worker.ts throw (see there). */
export const CRASH_MARKER = -666;

export interface FaultPlan {
  /** Providers this fake backend offers (each runs on the wrapped backend's default provider). */
  offered: string[];
  initFails?: string[];
  createFails?: string[];
  firstRunFails?: string[];
  fp16Native?: string[];
  /** Providers whose sessions throw "Session already started" when runs overlap, as onnxruntime-web's WebGPU does. */
  exclusiveRuns?: string[];
}

/**
 * Wraps a real backend so that made-up providers fail in the phase a test wants: the only way to
 * exercise 'init', 'create' and 'first-run' fallbacks on a machine with no GPU. Successful fake
 * providers really run on the wrapped backend's CPU provider.
 */
export function faultyBackend(base: RuntimeBackend, plan: FaultPlan, name = `faulty-${base.name}`): RuntimeBackend & { creates: string[] } {
  const creates: string[] = [];
  const real = (p: string) => (plan.offered.includes(p) ? base.defaultProvider : p);
  return {
    name,
    creates,
    defaultProvider: base.defaultProvider,
    acceptsPaths: base.acceptsPaths,
    async resolveProvider(p) {
      return plan.offered.includes(p) ? undefined : base.resolveProvider(p);
    },
    async initProvider(p) {
      const n = typeof p === 'string' ? p : p.name;
      if (plan.initFails?.includes(n)) throw new Error(`${n}: no adapter (simulated)`);
      if (!plan.offered.includes(n)) await base.initProvider(p);
    },
    async createSession(model, options: OrtSessionOptions) {
      const ep = options.executionProviders?.[0];
      const n = typeof ep === 'string' ? ep : (ep?.name ?? '');
      creates.push(n);
      if (plan.createFails?.includes(n)) throw new Error(`${n}: cannot compile the graph (simulated)`);
      const handle = await base.createSession(model, { ...options, executionProviders: [real(n)] });
      if (plan.exclusiveRuns?.includes(n)) {
        let active = false;
        return {
          ...handle,
          async run(feeds, fetches) {
            if (active) throw new Error('Session already started (simulated)');
            active = true;
            try {
              return await handle.run(feeds, fetches);
            } finally {
              active = false;
            }
          },
        };
      }
      if (!plan.firstRunFails?.includes(n)) return handle;
      let ran = false;
      return {
        ...handle,
        async run(feeds, fetches) {
          if (!ran) {
            ran = true;
            throw new Error(`${n}: kernel failed on first run (simulated)`);
          }
          return handle.run(feeds, fetches);
        },
      };
    },
    toTensor: (t) => base.toTensor(t),
    async providerFeatures(p) {
      const features = plan.fp16Native?.includes(p) ? { fp16Native: true } : await base.providerFeatures(real(p));
      return plan.exclusiveRuns?.includes(p) ? { ...features, exclusiveRuns: true } : features;
    },
  };
}

/**
 * One recurrent layer (LSTM, GRU or RNN, hidden size 3) over x float32 [seq, batch, 2]; output h, the
 * last hidden state [1, batch, 3]. The node is named `${op}_cell`.
 */
export function recurrentModel(op: 'LSTM' | 'GRU' | 'RNN'): Uint8Array {
  const gates = op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1;
  const hidden = 3;
  const b = new ModelBuilder({ opset: 14, graphName: op.toLowerCase() });
  const x = b.input('x', 'float32', ['seq', 'batch', 2]);
  const w = b.initializer('W', new Float32Array(gates * hidden * 2).map((_, i) => 0.1 * ((i % 5) - 2)), [1, gates * hidden, 2]);
  const r = b.initializer('R', new Float32Array(gates * hidden * hidden).map((_, i) => 0.05 * ((i % 3) - 1)), [1, gates * hidden, hidden]);
  const [, h] = b.opN(op, [x, w, r], { hidden_size: hidden }, { outputs: ['y', 'h'], name: `${op}_cell` });
  b.output(h as string, 'float32', [1, 'batch', hidden]);
  return b.build().encode();
}

export { deepTreeModel } from './testing/tree-models.js';
