/**
 * Regenerates the README's figures from the published benchmark results: every section between
 * `<!-- figures:<topic> -->` and `<!-- /figures:<topic> -->` becomes the tables of
 * docs/results/<topic>.json (written by `npm run bench -- <topic> --publish`).
 *
 *   npm run readme
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeTopics, renderSection, replaceSection } from '../src/readme-section.js';
import { readmeSectionOf } from '../src/save-result.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const file = join(ROOT, 'README.md');
let readme = readFileSync(file, 'utf8');
for (const topic of readmeTopics(readme)) {
  const result = JSON.parse(readFileSync(join(ROOT, 'docs', 'results', `${topic}.json`), 'utf8')) as unknown;
  const section = readmeSectionOf(result);
  if (!section) throw new Error(`docs/results/${topic}.json has no readme section; re-run npm run bench -- ${topic} --publish`);
  readme = replaceSection(readme, topic, renderSection(section));
}
writeFileSync(file, readme);
process.stdout.write(`README.md: ${readmeTopics(readme).length} figure sections regenerated from docs/results/\n`);
