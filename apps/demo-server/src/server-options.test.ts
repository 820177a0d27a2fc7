// Options the server refuses before it starts: a usage error (exit 2) with a message that names the
// option, from the command line and from the library alike.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import { exitCodeOf, parseServerArgs, runServer } from './run-server.js';
import { resolveServerOptions } from './server-options.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('preferred batch sizes', () => {
  it('refuses on the command line a preferred size larger than --max-batch (given or the default 16), as a usage error', () => {
    const refused = (argv: string[]) => {
      try {
        parseServerArgs(['m.onnx', ...argv], {});
      } catch (e) {
        expect(exitCodeOf(e)).toBe(2);
        return (e as Error).message.split('\n')[0];
      }
      return undefined;
    };
    expect(refused(['--max-batch', '16', '--preferred-batch-sizes', '8,32'])).toBe(
      '--preferred-batch-sizes 32 is larger than --max-batch 16: a batch never grows past --max-batch, so it would never run at that size; raise --max-batch or lower the preferred size',
    );
    expect(refused(['--preferred-batch-sizes', '17'])).toMatch(/^--preferred-batch-sizes 17 is larger than --max-batch \(16 by default\)/);
    // Sizes up to --max-batch are taken; with --no-batching there is no batch to prefer a size of.
    expect(refused(['--max-batch', '32', '--preferred-batch-sizes', '8,32'])).toBeUndefined();
    expect(refused(['--preferred-batch-sizes', '16'])).toBeUndefined();
    expect(refused(['--no-batching', '--preferred-batch-sizes', '64'])).toBeUndefined();
  });

  it('refuses the same in the library options (createServer), before anything loads', async () => {
    expect(() => resolveServerOptions({ models: 'm.onnx', batching: { maxBatch: 16, preferredBatchSizes: [32] } }, 2)).toThrow(
      expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: 'batching.preferredBatchSizes must be integers from 1 to batching.maxBatch (16), got [32]' }),
    );
    expect(() => resolveServerOptions({ models: 'm.onnx', batching: { preferredBatchSizes: [0] } }, 2)).toThrow(/got \[0\]/);
    expect(resolveServerOptions({ models: 'm.onnx', batching: { maxBatch: 8 } }, 2).batching).toEqual({ maxBatch: 8, maxDelayMs: 2, preferredBatchSizes: [8] });
    await expect(createServer({ models: '/nowhere/m.onnx', batching: { maxBatch: 4, preferredBatchSizes: [2, 8] } })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });

  it('stops the server process with exit 2 and one clear line, before it reads the model', () => {
    const r = spawnSync(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', MAIN, '/nowhere/m.onnx', '--max-batch', '16', '--preferred-batch-sizes', '32'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^demo-server: --preferred-batch-sizes 32 is larger than --max-batch 16: /);
    expect(r.stdout).toBe('');
  });
});

// Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay silently becomes 1 ms. So
// --timeout-ms 3000000000 (meant as "no limit worth hitting") made every request 504 within a
// millisecond, "did not answer within 3000000000 ms"; --grace-ms past it exited 1 at once on SIGTERM
// with "requests still in flight after ... ms", and --max-delay-ms past it ran every batch at once.
describe('times past what a timer can wait', () => {
  const refused = (argv: string[], env: Record<string, string> = {}) => {
    try {
      parseServerArgs(['m.onnx', ...argv], env);
    } catch (e) {
      expect(exitCodeOf(e)).toBe(2);
      return (e as Error).message.split('\n')[0];
    }
    return undefined;
  };

  it('refuses on the command line a time over 2147483647 ms, naming the flag and the limit', () => {
    for (const flag of ['--timeout-ms', '--grace-ms', '--max-delay-ms']) {
      expect(refused([flag, '3000000000'])).toBe(`${flag} must be at most 2147483647 ms (about 24.8 days, the longest a timer waits), got 3000000000`);
      expect(refused([flag, '2147483647'])).toBeUndefined();
    }
    expect(refused(['--max-delay-ms', 'Infinity'])).toMatch(/^--max-delay-ms /);
  });

  it('refuses the same in the library options, and a timeout that is not a positive integer', () => {
    const resolve = (o: object) => () => resolveServerOptions({ models: 'm.onnx', ...o }, 2);
    expect(resolve({ timeoutMs: 3_000_000_000 })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/^timeoutMs must be at most 2147483647 ms/) }));
    expect(resolve({ timeoutMs: 0 })).toThrow(/^timeoutMs must be a positive integer, got 0/);
    expect(resolve({ timeoutMs: Number.NaN })).toThrow(/^timeoutMs must be a positive integer/);
    expect(resolve({ batching: { maxDelayMs: Infinity } })).toThrow(/^batching.maxDelayMs must be at most 2147483647 ms/);
    expect(resolve({ shutdownIdleMs: 3_000_000_000 })).toThrow(/^shutdownIdleMs must be at most 2147483647 ms/);
    expect(resolveServerOptions({ models: 'm.onnx', timeoutMs: 2_147_483_647 }, 2).timeoutMs).toBe(2_147_483_647);
  });
});

// PORT set but empty (a container template that leaves it blank) was read as port 0: the server
// listened on a random port, and every probe of the port meant went unanswered.
describe('the port', () => {
  it('takes an empty PORT as unset (8080), and refuses --port that is not a decimal number', () => {
    expect(parseServerArgs(['m.onnx'], { PORT: '' }).port).toBe(8080);
    expect(parseServerArgs(['m.onnx'], { PORT: '  ' }).port).toBe(8080);
    expect(parseServerArgs(['m.onnx', '--port', '0'], {}).port).toBe(0);
    for (const text of ['', ' ', '0x50', '1e3', '80.0']) {
      expect(() => parseServerArgs(['m.onnx', '--port', text], {}), text).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/^--port takes an integer ≥ 0, got "/) }));
    }
  });
});

// The port was found taken only after every model had loaded (a large model takes minutes): the
// process then stopped with "listen EADDRINUSE". Now the address is tried first.
describe('an address the server cannot listen on', () => {
  it('stops the start before any model is read, with FORGE_IO naming the address and what to do', async () => {
    const { createServer: netServer } = await import('node:net');
    const taken = netServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const io = { env: {}, out: () => undefined, err: () => undefined };
      // The model does not exist: the address is what is refused, before the model is looked for.
      const error = await runServer(['/nowhere/m.onnx', '--port', String(port), '--host', '127.0.0.1'], io, false).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'FORGE_IO', details: { port, host: '127.0.0.1' } });
      expect((error as Error).message).toBe(`cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE); stop what listens there or choose another --port`);
      expect(exitCodeOf(error)).toBe(1);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
