/**
 * Why `value` is not a cosine tolerance (the smallest cosine similarity to the reference every output
 * must keep), or undefined when it is one. The one rule of what a tolerance may be, for compare and
 * optimize in this package and every `--tolerance` of the command line.
 *
 * A cosine runs from -1 to 1. A tolerance at or below 0 would pass outputs that have nothing to do
 * with the reference's (0: orthogonal), so it bounds nothing; 1 is a real bound: outputs in exactly
 * the reference's direction, and one-value outputs equal to it (singleValueBound(1) is 0), which is
 * what a rewrite that keeps the arithmetic (a cleanup, a re-export) should give. So (0, 1].
 */
export function cosineToleranceProblem(value: number): string | undefined {
  return value > 0 && value <= 1 ? undefined : 'a cosine tolerance is a similarity in (0, 1], such as 0.99';
}
