import * as ort from 'onnxruntime-node';
import { Rng, cosineSimilarity } from '@onnx-forge/core';

/** Runs two model files on the same seeded float input and gives the cosine similarity of each output. */
export async function compareOutputs(reference: string, candidate: string, input: { name: string; dims: number[] }): Promise<Record<string, number>> {
  const n = input.dims.reduce((a, d) => a * d, 1);
  const data = new Rng(11).fillNormalish(new Float32Array(n), 1);
  const feeds = { [input.name]: new ort.Tensor('float32', data, input.dims) };
  const [a, b] = await Promise.all([reference, candidate].map((f) => ort.InferenceSession.create(f, { executionProviders: ['cpu'] })));
  try {
    const ra = await (a as ort.InferenceSession).run(feeds);
    const rb = await (b as ort.InferenceSession).run(feeds);
    const out: Record<string, number> = {};
    for (const name of Object.keys(ra)) {
      const x = Array.from((ra[name] as ort.Tensor).data as Float32Array);
      const y = Array.from((rb[name] as ort.Tensor).data as Float32Array, Number);
      out[name] = cosineSimilarity(x, y);
    }
    return out;
  } finally {
    await Promise.all([a?.release(), b?.release()]);
  }
}
