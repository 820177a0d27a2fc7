import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '@onnx-forge/core';

/**
 * Staging folders say who made them in their name, so that a later run can tell one left by a process
 * that is gone (a second Ctrl-C exits at once, a kill, a crash) from one a live run is still writing:
 * `.staging-<pid>-<start>-<host>-<random>`, with the process's start (`p` and the kernel's start time
 * in ticks where /proc has it, so a pid used again by another process is not taken for the owner; else
 * `t` and the start time in ms, which is not checked) and a hash of the host name (a repository on a
 * shared disk is written from several machines, whose pids mean nothing here). The name is made with
 * the folder, in one mkdir: there is no moment when a live run's folder says nothing of its owner.
 */

const PREFIX = '.staging-';
const NAMED = /^\.staging-([1-9][0-9]*)-([pt][0-9]+)-([0-9a-f]{8})-[0-9a-f]{8}$/;
/** Staging folders of earlier versions of this code: `.staging-<pid>-<random>`, no host or start. */
const UNMARKED = /^\.staging-([1-9][0-9]*)-[0-9a-f]{8}$/;
/**
 * An unmarked folder may belong to a run on another machine, whose pid says nothing here: it is only
 * taken for stale when its pid is gone here too and nothing in it changed for this long.
 */
export const UNMARKED_STALE_MS = 24 * 60 * 60 * 1000;

/** A hash of this machine's name: the same for every process here, short enough for a folder name. */
function hostMark(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** The start time of a process in clock ticks since boot (/proc/<pid>/stat, field 22), or undefined without /proc. */
function procStart(pid: number | 'self'): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^[0-9]+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined;
/** This process's start mark. */
function startMark(): string {
  ownStart ??= (() => {
    const ticks = procStart('self');
    return ticks ? `p${ticks}` : `t${Math.round(Date.now() - process.uptime() * 1000)}`;
  })();
  return ownStart;
}

/** A new staging folder's name for this process. */
export function stagingName(): string {
  return `${PREFIX}${process.pid}-${startMark()}-${hostMark()}-${randomBytes(4).toString('hex')}`;
}

/**
 * Whether the process that made a staging folder is gone: no process has its pid (ESRCH), or, where
 * /proc gives start times, the process with that pid started at another time (the pid was used
 * again). A process this one may not signal (EPERM, another account's) is alive.
 */
function ownerGone(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (!start?.startsWith('p')) return false;
  const now = procStart(pid);
  return now !== undefined && `p${now}` !== start;
}

/** A staging folder left by a run that ended without removing it, and what became of it. */
export interface StaleStaging {
  /** The folder's path. */
  dir: string;
  /** The process that made it, gone now. */
  pid: number;
  /** Whether it was removed; when not, why. */
  removed: boolean;
  error?: string;
}

/**
 * Removes the staging folders in a model's folder whose owner is gone, and says which (and those it
 * could not remove). Never one of a live run, here or on another machine: a folder whose name marks
 * another host is left, as is one whose process is alive or cannot be told. Folders of earlier
 * versions, unmarked, are removed only when their pid is gone and they have not changed for a day.
 */
export async function sweepStaleStaging(modelDir: string): Promise<StaleStaging[]> {
  // No model folder (yet): nothing to sweep.
  const names = await readdir(modelDir).catch((): string[] => []);
  const host = hostMark();
  const out: StaleStaging[] = [];
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(modelDir, name);
    const named = NAMED.exec(name);
    const unmarked = named ? null : UNMARKED.exec(name);
    let pid: number;
    if (named) {
      if (named[3] !== host) continue;
      pid = Number(named[1]);
      if (!ownerGone(pid, named[2])) continue;
    } else if (unmarked) {
      pid = Number(unmarked[1]);
      if (!ownerGone(pid, undefined)) continue;
      const changed = await stat(dir).then((st) => st.mtimeMs, () => undefined);
      if (changed === undefined || Date.now() - changed < UNMARKED_STALE_MS) continue;
    } else continue;
    try {
      await rm(dir, { recursive: true, force: true });
      out.push({ dir, pid, removed: true });
    } catch (e) {
      out.push({ dir, pid, removed: false, error: errorMessage(e) });
    }
  }
  return out;
}

/** What to tell the user of the stale staging folders a sweep found: one warning for each. */
export function staleStagingWarnings(stale: readonly StaleStaging[]): string[] {
  return stale.map((s) => s.removed
    ? `removed ${s.dir}, a version staged by a run that ended before finishing it (process ${s.pid}, no longer running); no version was added by that run`
    : `cannot remove ${s.dir}, a version staged by a run that ended before finishing it (process ${s.pid}, no longer running): ${s.error}; readers skip it, but remove it by hand to free its space`);
}
