// An unload (or a reload) that comes while a request is past its arrival but not yet running: its body
// read and being decoded (a large JSON body is decoded in a codec worker, hundreds of milliseconds). The
// request was refused 503 "unloaded" once decoded, though it had arrived before the unload: unloading
// promises that requests in flight finish. Now a request holds the model from the moment it is routed
// to it: the unload waits for it, and only requests that arrive after the unload get 503.
import { describe, expect, it } from 'vitest';
import { servedFolder, smallCnn, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';

const served = servedFolder('unload-in-flight', async (dir) => {
  await writeModels(dir, { cnn: smallCnn() });
  return {};
});

const image = () => ({ image: { type: 'float32', dims: [1, 3, 16, 16], data: Float32Array.from({ length: 768 }, (_, i) => Math.sin(i)) } });
const settledWithin = async (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('a request routed to a model before it is unloaded', () => {
  it('keeps the model until it has run: the unload waits, new requests get 503 meanwhile, then it runs and the model unloads', async () => {
    const { models } = served.server;
    const { model, release } = models.acquire('cnn');
    const unloading = models.unload('cnn');
    expect(await settledWithin(unloading, 300)).toBe(false);
    // A request that arrives now is refused at once.
    const late = await call(`${served.url}/v2/models/cnn/infer`, 'POST', { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: Array(768).fill(0) }] });
    expect(late.status).toBe(503);
    expect((late.json as { code: string }).code).toBe('FORGE_NOT_READY');
    // The one that arrived before still runs on the model it was routed to.
    const out = await model.predict(image());
    expect(out.logits?.dims).toEqual([1, 10]);
    release();
    await unloading;
    expect(models.index().find((e) => e.name === 'cnn')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
    await models.load('cnn');
  });

  it('keeps it the same way through a reload: the old version answers it, requests after it wait for the new one', async () => {
    const { models } = served.server;
    const { model, release } = models.acquire('cnn');
    const reloading = models.load('cnn');
    // Until the new version is up and the old one is being retired (the handover).
    for (let i = 0; i < 600 && !models.handover('cnn'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(models.handover('cnn')).toBeDefined();
    expect(await settledWithin(reloading, 200)).toBe(false);
    const out = await model.predict(image());
    expect(out.logits?.dims).toEqual([1, 10]);
    // Routed now, a request waits for the handover and runs on the new version.
    const waiting = call(`${served.url}/v2/models/cnn/infer`, 'POST', { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: Array(768).fill(0) }] });
    release();
    await reloading;
    expect((await waiting).status).toBe(200);
    expect(models.get('cnn')).not.toBe(model);
  });

  it('gives the model back however often release is called', () => {
    const { model, release } = served.server.models.acquire('cnn');
    release();
    release();
    expect(served.server.models.get('cnn')).toBe(model);
  });
});
