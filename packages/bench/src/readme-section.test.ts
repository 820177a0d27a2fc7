import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { markdownTable, readmeTopics, renderSection, replaceSection, sectionOf, type ReadmeSection } from './readme-section.js';
import { readmeSectionOf } from './save-result.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const section: ReadmeSection = {
  title: 'T', command: 'npm run bench -- t', machine: 'AMD EPYC (avx512-vnni), 2 cores', date: '2026-12-06',
  tables: [{ head: ['a', 'b|c'], rows: [['1', '2']] }], notes: ['A note.'], figures: [{ path: 'docs/figures/t.svg', alt: 'T' }],
};

describe('README figure sections', () => {
  it('render as Markdown and replace only what is between their markers', () => {
    expect(markdownTable({ head: ['a', 'b|c'], rows: [['1']] })).toBe('| a | b\\|c |\n|---|---|\n| 1 |  |');
    const text = renderSection(section);
    expect(text).toMatch(/^`npm run bench -- t`, 2026-12-06, on AMD EPYC \(avx512-vnni\), 2 cores:/);
    const readme = 'intro\n<!-- figures:t -->\nold 1.23 s\n<!-- /figures:t -->\nprose';
    const next = replaceSection(readme, 't', text);
    expect(sectionOf(next, 't')).toBe(text);
    expect(next.startsWith('intro\n')).toBe(true);
    expect(next.endsWith('\nprose')).toBe(true);
    expect(readmeTopics(next)).toEqual(['t']);
  });

  it('in the README are exactly what the published results give (regenerate with npm run readme)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const topics = readmeTopics(readme);
    expect(topics.length).toBeGreaterThan(0);
    for (const topic of topics) {
      const file = join(ROOT, 'docs', 'results', `${topic}.json`);
      expect(existsSync(file), `docs/results/${topic}.json (npm run bench -- ${topic} --publish)`).toBe(true);
      const published = readmeSectionOf(JSON.parse(readFileSync(file, 'utf8')));
      expect(published, `docs/results/${topic}.json has a readme section`).toBeDefined();
      expect(sectionOf(readme, topic), `README section ${topic}`).toBe(renderSection(published as ReadmeSection));
      for (const f of published?.figures ?? []) expect(existsSync(join(ROOT, f.path)), f.path).toBe(true);
    }
  });
});
