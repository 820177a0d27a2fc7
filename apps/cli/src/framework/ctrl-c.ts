import { constants } from 'node:os';
import type { Progress } from './progress.js';

/** The signals a command stops on: Ctrl-C, and what `timeout`, `kill` and service managers send. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The signal that asked the last cancellation, for its exit code. */
let stoppedBy: NodeJS.Signals = 'SIGINT';

/**
 * The exit code of a cancelled command: the shell's code for an end by the signal that asked for it,
 * 128 + its number (130 for Ctrl-C, 143 for SIGTERM), as when the signal ends the process itself.
 */
export function cancelledExitCode(): number {
  return 128 + (constants.signals[stoppedBy] ?? constants.signals.SIGINT);
}

/**
 * Runs `work` with Ctrl-C (or SIGTERM) turned into a cancellation it watches: the first signal notes
 * `note` on stderr and aborts the signal (the work stops at its next check and undoes what it made,
 * then the command exits with FORGE_CANCELLED and cancelledExitCode()); a second one exits at once.
 * Outside such work, the signal ends the process as usual, which writes nothing.
 */
export async function cancellable<T>(progress: Progress, note: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(128 + (constants.signals[signal] ?? 0));
    stoppedBy = signal;
    progress.note(`${note} (press Ctrl-C again to stop at once)`);
    abort.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    return await work(abort.signal);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
