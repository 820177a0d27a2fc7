/**
 * The index of the largest value in each row of `width` values (a classifier's predicted class, a
 * decoder's greedy token at each position); ties go to the lower index. A last partial row counts.
 */
export function argmaxRows(values: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < values.length; start += width) {
    const end = Math.min(start + width, values.length);
    let best = start;
    for (let i = start + 1; i < end; i++) if ((values[i] as number) > (values[best] as number)) best = i;
    out.push(best - start);
  }
  return out;
}
