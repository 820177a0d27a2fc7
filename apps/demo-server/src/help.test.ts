// `onnx-forge-server --help` (and -h): the usage on stdout, exit 0, no server started.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HELP, helpRequested, parseServerArgs } from './run-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Every flag parseServerArgs takes, as `--name`. */
const FLAGS = ['--port', '--host', '--workers', '--no-batching', '--max-batch', '--max-delay-ms', '--preferred-batch-sizes', '--max-concurrent', '--max-queue', '--body-limit', '--max-elements', '--max-output-bytes', '--timeout-ms', '--no-page', '--grace-ms', '--help'];

describe('onnx-forge-server --help', () => {
  it('is asked for by --help or -h anywhere before --, not by an option value or a positional after --', () => {
    expect(helpRequested(['--help'])).toBe(true);
    expect(helpRequested(['-h'])).toBe(true);
    expect(helpRequested(['model.onnx', '--port', '9000', '--help'])).toBe(true);
    expect(helpRequested(['--bogus', '-h'])).toBe(true);
    expect(helpRequested(['model.onnx', '--port', '9000'])).toBe(false);
    expect(helpRequested(['--', '--help'])).toBe(false);
    expect(helpRequested(['--host=-h', 'model.onnx'])).toBe(false);
    // A server is never started on a request for help.
    expect(() => parseServerArgs(['model.onnx', '--help'], {})).toThrow(/--help/);
  });

  it('lists every option on a line of its own, and an example', () => {
    const lines = HELP.split('\n');
    for (const flag of FLAGS) expect(lines.filter((l) => new RegExp(`^\\s+(-h, )?${flag}\\b`).test(l)), flag).toHaveLength(1);
    expect(HELP).toMatch(/^usage: onnx-forge-server /);
    expect(HELP).toMatch(/\nexamples:\n\s+onnx-forge-server \S+\.onnx/);
  });

  it('states the defaults the parser applies', () => {
    const { port, host, graceMs } = parseServerArgs(['model.onnx'], {});
    expect(HELP).toContain(`else ${port})`);
    expect(HELP).toContain(`(default ${host})`);
    expect(HELP).toContain(`(default ${graceMs})`);
  });

  for (const flag of ['--help', '-h']) {
    it(`${flag} prints the usage to stdout and exits 0`, () => {
      const r = spawnSync(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', MAIN, flag], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${HELP}\n`);
    });
  }
});
