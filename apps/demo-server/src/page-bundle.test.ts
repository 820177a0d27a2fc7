// The page's bundle is rebuilt when any source it takes in changes, not only the page's own: it
// bundles core, graph-ops and bench from their sources, and a page that kept an old graph-ops would
// make variants the CLI no longer makes.
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SCRIPTS, ensurePage } from './page-bundle.js';

describe('the page bundle', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('records every source it bundles, graph-ops\' among them, and rebuilds when one is newer than the scripts', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'forge-page-'));
    dirs.push(out);
    await ensurePage(out);
    const inputs = JSON.parse(await readFile(path.join(out, 'inputs.json'), 'utf8')) as string[];
    const sep = path.sep;
    expect(inputs.some((f) => f.includes(`${sep}packages${sep}graph-ops${sep}src${sep}`))).toBe(true);
    expect(inputs.some((f) => f.endsWith(`${sep}page${sep}optimize-worker.ts`))).toBe(true);
    const built = async () => Promise.all(PAGE_SCRIPTS.map(async (f) => (await stat(path.join(out, f))).mtimeMs));
    const first = await built();

    // Nothing changed: kept as it is.
    await ensurePage(out);
    expect(await built()).toEqual(first);

    // A source newer than the scripts (here a stand-in listed with the real ones, dated an hour ahead): rebuilt.
    const source = path.join(out, 'stand-in.ts');
    await writeFile(source, 'export {};\n');
    const later = new Date(Date.now() + 3600_000);
    await utimes(source, later, later);
    await writeFile(path.join(out, 'inputs.json'), JSON.stringify([...inputs, source]));
    await ensurePage(out);
    const second = await built();
    for (const [i, t] of second.entries()) expect(t).toBeGreaterThan(first[i] as number);
    // Its record is the bundle's real inputs again.
    expect(JSON.parse(await readFile(path.join(out, 'inputs.json'), 'utf8'))).toEqual(inputs);
  });

  it('rebuilds when its record of sources is missing', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'forge-page-'));
    dirs.push(out);
    await ensurePage(out);
    const before = (await stat(path.join(out, 'app.js'))).mtimeMs;
    await rm(path.join(out, 'inputs.json'));
    await new Promise((r) => setTimeout(r, 20));
    await ensurePage(out);
    expect((await stat(path.join(out, 'app.js'))).mtimeMs).toBeGreaterThan(before);
  });
});
