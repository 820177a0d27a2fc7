// Graceful shutdown under keep-alive traffic: no client may see its connection reset. A request in
// flight finishes; one that arrives while the server stops (on a connection idle at that moment, or
// pipelined, or a large upload) is read whole and answered 503 {"error", "code": "FORGE_CANCELLED"}
// with `connection: close`; a connection is closed by the server after a response, never under a
// request it has not read. Nothing here waits on the wall clock: each step waits for an event.
import { Agent, request } from 'node:http';
import { type Socket, connect } from 'node:net';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { DemoServer } from './create-server.js';
import { LOOKUP_TABLE, lookupModel, startServer, tempDir, writeModels } from './testing/fixtures.js';
import { type RawResponse, parseResponses } from './testing/raw-http.js';

/** A raw client connection: what it received, and how it ended (an error, or none). */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<Error | undefined>; responses(n: number): Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  let error: Error | undefined;
  const waiters: { n: number; resolve: () => void }[] = [];
  const count = () => {
    try {
      return parseResponses(Buffer.concat(chunks)).length;
    } catch {
      return 0;
    }
  };
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    const n = count();
    for (const w of waiters.splice(0)) (n >= w.n ? w.resolve() : waiters.push(w));
  });
  socket.on('error', (e) => (error = e));
  const ended = new Promise<Error | undefined>((resolve) => socket.once('close', () => resolve(error)));
  return {
    socket,
    received: () => Buffer.concat(chunks),
    ended,
    responses: (n) => (count() >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

function expectShutdown503(r: RawResponse | undefined): void {
  expect(r?.status, r?.body).toBe(503);
  expect(r?.headers.connection).toBe('close');
  expect(r?.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(r?.body ?? '')).toEqual({ error: expect.stringMatching(/the server is shutting down/), code: 'FORGE_CANCELLED' });
}

const inferBody = (id: number) => JSON.stringify({ inputs: [{ name: 'ids', shape: [1], datatype: 'INT64', data: [id] }] });

let dir: string;
let remove: () => Promise<void>;
let server: DemoServer | undefined;

beforeAll(async () => {
  ({ dir, remove } = await tempDir('drain'));
  await writeModels(dir, { lookup: lookupModel() });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

afterAll(async () => {
  await remove?.();
});

/**
 * A server whose idle connections are never closed on a timer during these tests (an hour): every
 * connection must end because a response told its client so, which makes the outcome independent of
 * how fast this machine runs.
 */
async function start(batching: { maxBatch: number; maxDelayMs: number } | false = false, shutdownIdleMs = 3_600_000): Promise<{ server: DemoServer; url: string }> {
  const started = await startServer({ models: dir, batching, shutdownIdleMs });
  server = started.server;
  return started;
}

describe('graceful shutdown under keep-alive traffic', () => {
  it('keep-alive clients sending requests in a loop as the server stops: every request gets 200 or the coded 503, none a socket error', async () => {
    const { server: s, url } = await start({ maxBatch: 8, maxDelayMs: 1 });
    const { hostname, port } = new URL(url);
    const CLIENTS = 8;
    const WARM = 3;
    const outcomes: { client: number; status: number; connection: string | undefined; body: string }[] = [];
    const errors: string[] = [];
    let warmed = 0;
    let onWarm: () => void = () => undefined;
    const allWarm = new Promise<void>((resolve) => (onWarm = resolve));

    const send = (agent: Agent, id: number) =>
      new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const body = inferBody(id);
        const req = request({ host: hostname, port: Number(port), path: '/v2/models/lookup/infer', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });

    const loop = async (client: number) => {
      // One connection per client, kept alive between its requests.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let n = 0; ; n++) {
          let r;
          try {
            r = await send(agent, (client + n) % LOOKUP_TABLE.length);
          } catch (e) {
            errors.push(`client ${client}, request ${n}: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
            return;
          }
          outcomes.push({ client, ...r });
          if (n + 1 === WARM && ++warmed === CLIENTS) onWarm();
          // The server said the connection ends here: the client stops (a new connection would be refused).
          if (r.connection === 'close') return;
        }
      } finally {
        agent.destroy();
      }
    };

    const loops = Array.from({ length: CLIENTS }, (_, c) => loop(c));
    await allWarm;
    const closing = s.close();
    await Promise.all(loops);
    await closing;

    expect(errors).toEqual([]);
    for (const o of outcomes) {
      if (o.status === 200) {
        expect((JSON.parse(o.body) as { outputs: unknown[] }).outputs).toHaveLength(1);
      } else {
        expect(o.status, o.body).toBe(503);
        expect(o.connection).toBe('close');
        expect(JSON.parse(o.body)).toEqual({ error: expect.stringMatching(/the server is shutting down/), code: 'FORGE_CANCELLED' });
      }
    }
    // Every client was told, by a response, that its connection ended.
    for (let c = 0; c < CLIENTS; c++) expect(outcomes.filter((o) => o.client === c).at(-1)?.connection, `client ${c}`).toBe('close');
  });

  it('a request sent on an idle keep-alive connection just as the shutdown begins is read and answered 503, not reset', async () => {
    const { server: s, url } = await start();
    const c = await rawConnection(url);
    const { hostname } = new URL(url);
    c.socket.write(`GET /v2/health/live HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    await c.responses(1);
    // The connection is idle; its client sends the next request at the moment the server starts to stop.
    const closing = s.close();
    c.socket.write(`GET /v2/models/lookup HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    expect(await c.ended).toBeUndefined();
    await closing;
    const [first, second, ...rest] = parseResponses(c.received());
    expect(rest).toEqual([]);
    expect(first?.status).toBe(200);
    expectShutdown503(second);
  });

  it('a large upload that starts as the server stops is read to its end, then answered 503: the client sees the answer, not a reset', async () => {
    const { server: s, url } = await start();
    const c = await rawConnection(url);
    const { hostname } = new URL(url);
    const closing = s.close();
    await sendUpload(c.socket, hostname, 24 * 1024 * 1024);
    expect(await c.ended).toBeUndefined();
    await closing;
    const [only, ...rest] = parseResponses(c.received());
    expect(rest).toEqual([]);
    expectShutdown503(only);
  });

  it('a connection that stays idle is closed once shutdownIdleMs has passed (cleanly, with nothing unread), and the shutdown completes', async () => {
    const { server: s, url } = await start(false, 50);
    const c = await rawConnection(url);
    const { hostname } = new URL(url);
    c.socket.write(`GET /v2/health/live HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    await c.responses(1);
    await s.close();
    expect(await c.ended).toBeUndefined();
    const [only, ...rest] = parseResponses(c.received());
    expect(rest).toEqual([]);
    expect(only?.status).toBe(200);
    expect(only?.headers.connection).toBe('keep-alive');
  });

  it('an upload pipelined behind a request in flight: the request finishes with 200, the upload is read, then answered 503', async () => {
    // A lone request waits out the batching delay: it is in flight when the server starts to stop.
    const { server: s, url } = await start({ maxBatch: 8, maxDelayMs: 400 });
    const c = await rawConnection(url);
    const { hostname } = new URL(url);
    const arrived = new Promise<void>((resolve) => s.app.server.once('request', () => resolve()));
    const body = inferBody(2);
    c.socket.write(`POST /v2/models/lookup/infer HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await arrived;
    const closing = s.close();
    await sendUpload(c.socket, hostname, 24 * 1024 * 1024);
    expect(await c.ended).toBeUndefined();
    await closing;
    const [first, second, ...rest] = parseResponses(c.received());
    expect(rest).toEqual([]);
    expect(first?.status, first?.body).toBe(200);
    expect((JSON.parse(first?.body ?? '') as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([...(LOOKUP_TABLE[2] as readonly number[])]);
    expectShutdown503(second);
  });
});

/** Sends a binary infer request of `size` bytes in 256 KiB chunks, each once the socket took the one before. */
async function sendUpload(socket: Socket, host: string, size: number): Promise<void> {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'ids', shape: [size / 8], datatype: 'INT64', parameters: { binary_data_size: size } }] }));
  const head = `POST /v2/models/lookup/infer HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\nContent-Type: application/octet-stream\r\n` +
    `Inference-Header-Content-Length: ${header.length}\r\nContent-Length: ${header.length + size}\r\n\r\n`;
  const write = (data: Buffer | string) => new Promise<void>((resolve) => {
    // A write to a socket the server reset fails: the test sees it as the connection's error.
    if (socket.destroyed) return resolve();
    socket.write(data, () => resolve());
  });
  await write(head);
  await write(header);
  const chunk = Buffer.alloc(256 * 1024);
  for (let sent = 0; sent < size && !socket.destroyed; sent += chunk.length) await write(chunk.subarray(0, Math.min(chunk.length, size - sent)));
}
