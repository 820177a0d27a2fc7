// Graceful shutdown seen from a client that keeps its connection open: the request in flight finishes,
// and one that arrives on the same connection while the server stops gets the server's own 503 body,
// with the stable code every other error carries.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LOOKUP_TABLE, lookupModel, servedFolder, writeModels } from './testing/fixtures.js';
import { type RawResponse, parseResponses } from './testing/raw-http.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const served = servedFolder('shutdown', async (dir) => {
  await writeModels(dir, { lookup: lookupModel() });
  // A lone request waits the whole batching delay: long enough to stop the server under it.
  return { batching: { maxBatch: 8, maxDelayMs: 600 } };
});

describe('graceful shutdown', () => {
  it('finishes the request in flight, and answers one arriving on the same keep-alive connection with 503 {"error", "code": "FORGE_CANCELLED"}', async () => {
    const { hostname, port } = new URL(served.url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    const body = JSON.stringify({ inputs: [{ name: 'ids', shape: [1], datatype: 'INT64', data: [2] }] });
    socket.write(`POST /v2/models/lookup/infer HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await sleep(100);
    const closing = served.server.close();
    await sleep(100);
    socket.write(`GET /v2/models/lookup HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    await ended;
    await closing;

    const [first, second, ...rest] = parseResponses(Buffer.concat(chunks));
    expect(rest).toEqual([]);
    expect(first?.status, first?.body).toBe(200);
    expect((JSON.parse(first?.body ?? '') as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([...(LOOKUP_TABLE[2] as readonly number[])]);
    expect(second?.status, second?.body).toBe(503);
    expect(second?.headers.connection).toBe('close');
    expect(second?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(second?.body ?? '')).toEqual({ error: expect.stringMatching(/the server is shutting down/), code: 'FORGE_CANCELLED' });
  });
});
