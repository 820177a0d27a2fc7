import { UsageError } from '../framework/usage-error.js';

/** `--dims batch=4,sequence=128` → { batch: 4, sequence: 128 }. */
export function parseDims(command: string, items: readonly string[]): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const item of items) {
    const m = /^([^=]+)=(\d+)$/.exec(item);
    const size = m ? Number(m[2]) : 0;
    if (!m || size < 1) throw new UsageError(`--dims takes name=size pairs such as batch=4, got "${item}"`, command, { flag: 'dims' });
    dims[(m[1] as string).trim()] = size;
  }
  return dims;
}

/** Refuses `--dims` names that are no symbolic dimension of the model's inputs (a typo would be ignored). */
export function checkDimNames(command: string, dims: Readonly<Record<string, number>>, symbols: ReadonlySet<string>, file: string): void {
  for (const name of Object.keys(dims)) {
    if (!symbols.has(name)) {
      throw new UsageError(`--dims ${name}: no input of ${file} has a dimension named '${name}' (its symbolic dims: ${[...symbols].join(', ') || 'none'})`, command, { flag: 'dims' });
    }
  }
}
