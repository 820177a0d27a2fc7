import * as ort from 'onnxruntime-node';
import { Rng, cosineSimilarity, float16ArrayToFloat32, float32ArrayToFloat16, type RunnerFeeds } from '@onnx-forge/core';

/**
 * Runs two model files on the same seeded float input (values of spread `std`, default 1), or on
 * given feeds, and gives the cosine similarity of each output. A model whose input is float16 (fp16 without keep-io-types)
 * gets the same values as float16, and float16 outputs are read as numbers, not bit patterns.
 */
export async function compareOutputs(
  reference: string,
  candidate: string,
  input: { name: string; dims: number[]; std?: number } | { feeds: RunnerFeeds },
): Promise<Record<string, number>> {
  const [a, b] = await Promise.all([reference, candidate].map((f) => ort.InferenceSession.create(f, { executionProviders: ['cpu'] })));
  const feedsFor = (s: ort.InferenceSession): Record<string, ort.Tensor> => {
    // Given feeds (token ids, several inputs) go to both models as they are.
    if ('feeds' in input) return Object.fromEntries(Object.entries(input.feeds).map(([k, t]) => [k, new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims)]));
    const data = new Rng(11).fillNormalish(new Float32Array(input.dims.reduce((x, d) => x * d, 1)), input.std ?? 1);
    const meta = s.inputMetadata.find((m) => m.name === input.name);
    const half = meta?.isTensor && meta.type === 'float16';
    return { [input.name]: half ? new ort.Tensor('float16', float32ArrayToFloat16(data), input.dims) : new ort.Tensor('float32', data, input.dims) };
  };
  const values = (t: ort.Tensor | undefined) => (t?.type === 'float16' ? Array.from(float16ArrayToFloat32(t.data as Uint16Array)) : Array.from(t?.data as Float32Array, Number));
  try {
    const ra = await (a as ort.InferenceSession).run(feedsFor(a as ort.InferenceSession));
    const rb = await (b as ort.InferenceSession).run(feedsFor(b as ort.InferenceSession));
    const out: Record<string, number> = {};
    for (const name of Object.keys(ra)) out[name] = cosineSimilarity(values(ra[name]), values(rb[name]));
    return out;
  } finally {
    await Promise.all([a?.release(), b?.release()]);
  }
}
