import { ForgeError } from '../errors.js';

/** The ForgeError `promise` rejects with; a test using it fails on a resolve or on any other error. */
export async function forgeRejection(promise: Promise<unknown>): Promise<ForgeError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ForgeError)) throw new Error(`expected a ForgeError, got ${String(e)}`, { cause: e });
  return e;
}
