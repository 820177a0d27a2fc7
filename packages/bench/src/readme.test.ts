import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readManifest } from './repository/read-repository.js';
import { tempFolders } from './testing/temp-folders.js';

const tempFolder = tempFolders();

const README = fileURLToPath(new URL('../README.md', import.meta.url));
// The example is run from a file inside the package, so '@onnx-forge/bench' resolves as it would for a user.
const SCRATCH = fileURLToPath(new URL('../test-output/', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

describe('README', () => {
  it('the "Optimize a model" example runs as written', async () => {
    const text = await readFile(README, 'utf8');
    const section = text.slice(text.indexOf('## Optimize a model'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain('optimizeModel(');
    await mkdir(SCRATCH, { recursive: true });
    const file = join(SCRATCH, 'readme-example.ts');
    await writeFile(file, code as string);
    const cwd = await tempFolder('readme-');
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // Without FORCE_COLOR (Nx sets it for its tasks), console.log prints numbers plain, as a user sees them in a file.
      const { FORCE_COLOR: _c, ...env } = process.env;
      execFile(process.execPath, ['--conditions=@onnx-forge/source', '--import', TSX, file], { cwd, timeout: 120_000, env: { ...env, NO_COLOR: '1' } }, (e, stdout, stderr) => resolve({ code: typeof e?.code === 'number' ? e.code : e ? 1 : 0, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^best: (fp32|fp16|int8-dynamic): /m);
    expect(out.stdout).toMatch(/^fp32 ok \d+ \d+\.\d\d 1$/m);
    const m = await readManifest(join(cwd, 'optimized', 'repository'), 'encoder');
    expect(m.variants.map((v) => v.name)).toEqual(['fp32', 'fp16', 'int8-dynamic', 'int8-static']);
  }, 120_000);
});
