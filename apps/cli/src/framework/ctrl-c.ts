import type { Progress } from './progress.js';

/**
 * Runs `work` with Ctrl-C turned into a cancellation it watches: the first press notes `note` on
 * stderr and aborts the signal (the work stops at its next check and undoes what it made, then the
 * command exits 130 with FORGE_CANCELLED); a second press exits 130 at once. Outside such work, Ctrl-C
 * ends the process as usual, which writes nothing.
 */
export async function cancellable<T>(progress: Progress, note: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    progress.note(`${note} (press Ctrl-C again to stop at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(abort.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
