/**
 * Figures live in one place: a benchmark writes them, with the tables the README shows, into its
 * result file (`.bench-cache/results/<topic>.json`, published to `docs/results/<topic>.json` by
 * `npm run bench -- <topic> --publish`), and the README's sections between
 * `<!-- figures:<topic> -->` and `<!-- /figures:<topic> -->` are generated from those files
 * (`npm run readme`). A test checks the README still matches them, so a figure edited by hand, or a
 * result published without regenerating the README, fails `npm test`.
 */

import { type MachineInfo, machineInfo } from './measure/machine-info.js';
import { markdownTable } from './report/markdown-table.js';

export { markdownTable };

export interface ReadmeTable {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface ReadmeSection {
  /** What the section measures, one line ("FP16, BERT-base-shaped model"). */
  readonly title: string;
  /** The command that reproduces it. */
  readonly command: string;
  /** The machine and day it was measured on, as the result file records them. */
  readonly machine: string;
  readonly date: string;
  readonly tables: readonly ReadmeTable[];
  /** Short sentences under the tables (what a figure means, how it was measured). */
  readonly notes?: readonly string[];
  /** Images (paths relative to the repository root) drawn from the same result. */
  readonly figures?: readonly { readonly path: string; readonly alt: string }[];
}

/** The Markdown of a section, as the README holds it between its markers. */
export function renderSection(s: ReadmeSection): string {
  const parts = [
    `\`${s.command}\`, ${s.date}, on ${s.machine}:`,
    ...s.tables.map(markdownTable),
    ...(s.notes ?? []),
    ...(s.figures ?? []).map((f) => `![${f.alt}](${f.path})`),
  ];
  return parts.join('\n\n');
}

export const markerStart = (topic: string) => `<!-- figures:${topic} -->`;
export const markerEnd = (topic: string) => `<!-- /figures:${topic} -->`;

/** The topics whose generated sections a README holds, in order. */
export function readmeTopics(readme: string): string[] {
  return [...readme.matchAll(/<!-- figures:([a-z0-9-]+) -->/g)].map((m) => m[1] as string);
}

/** The README with the section of `topic` replaced by `body` (the markers stay). */
export function replaceSection(readme: string, topic: string, body: string): string {
  const start = readme.indexOf(markerStart(topic));
  const end = readme.indexOf(markerEnd(topic));
  if (start < 0 || end < start) throw new Error(`the README has no ${markerStart(topic)} … ${markerEnd(topic)} section`);
  return `${readme.slice(0, start + markerStart(topic).length)}\n${body}\n${readme.slice(end)}`;
}

/** The section between the markers of `topic`, as written. */
export function sectionOf(readme: string, topic: string): string | undefined {
  const start = readme.indexOf(markerStart(topic));
  const end = readme.indexOf(markerEnd(topic));
  return start < 0 || end < start ? undefined : readme.slice(start + markerStart(topic).length, end).trim();
}

/** A short name of the machine a result was measured on: CPU model, its INT8 path, cores, Node, onnxruntime. */
export function machineLine(m: Pick<MachineInfo, 'cpu' | 'isa' | 'cores' | 'node' | 'onnxruntime'>): string {
  return [
    m.cpu,
    m.isa && m.isa !== 'unknown' ? `(${m.isa})` : '',
    `${m.cores} cores`,
    `Node ${m.node.replace(/^v/, '')}`,
    m.onnxruntime ? `onnxruntime ${m.onnxruntime}` : '',
  ].filter(Boolean).join(', ').replace(', (', ' (');
}

/** A result's README section, stamped with this machine and today's date. */
export async function readmeSection(s: Omit<ReadmeSection, 'machine' | 'date'>): Promise<ReadmeSection> {
  // How malloc got fresh memory matters on VMs with slow page faults (see scripts/bench.ts).
  const hugePages = /glibc\.malloc\.hugetlb=[12]/.test(process.env.GLIBC_TUNABLES ?? '');
  return { ...s, machine: `${machineLine(await machineInfo())}${hugePages ? ', glibc huge pages' : ''}`, date: new Date().toISOString().slice(0, 10) };
}
