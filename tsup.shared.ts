// Build settings every published package shares; each package's tsup.config.ts spreads them and adds its
// entries and what it alone needs (shims, another target). Listed in nx.json's sharedGlobals, so a
// change here rebuilds every package.
import type { Options } from 'tsup';

export const sharedOptions: Options = {
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so every entry of a package holds one copy of each module (and
  // of each class: `instanceof` holds across entries).
  splitting: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
};
