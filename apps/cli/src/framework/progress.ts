import type { OutStream } from './io.js';

/**
 * - `bar`: one line redrawn in place (a terminal on stderr);
 * - `lines`: plain lines at the start and end of each phase and at most every `lineIntervalMs` in
 *   between (logs, CI, pipes: no carriage returns or escape codes);
 * - `off`: nothing (`--json`, `--quiet`).
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressOptions {
  stream: OutStream;
  mode: ProgressMode;
  /** Milliseconds, monotonic (injected so tests control time). */
  now: () => number;
  /** Minimum time between two plain progress lines inside a phase (default 2000 ms). */
  lineIntervalMs?: number;
  /** Minimum time between two redraws of the bar (default 80 ms). */
  redrawMs?: number;
  /**
   * The command's text report goes to a terminal too (stdout is one): warnings the report repeats are
   * then not also written here, where the reader would see each twice.
   */
  reportOnTerminal?: boolean;
}

const CLEAR_LINE = '\r\x1b[2K';
const BAR_WIDTH = 24;

/** Chooses the mode from the stream and the command's flags. */
export function progressMode(stream: OutStream, quiet: boolean): ProgressMode {
  if (quiet) return 'off';
  return stream.isTTY ? 'bar' : 'lines';
}

/**
 * Progress of a long command as a sequence of phases (reading, each pass, writing), each with an
 * optional done/total fraction. Written to stderr so stdout stays clean for the result.
 */
export class Progress {
  private label: string | undefined;
  private startedAt = 0;
  private lastOutput = Number.NEGATIVE_INFINITY;
  private lastPercent = -1;
  private detail = '';
  private fraction: number | undefined;
  private drawn = false;
  private transient = false;

  constructor(private readonly options: ProgressOptions) {}

  get mode(): ProgressMode {
    return this.options.mode;
  }

  /**
   * Begins a phase (ending the current one, if any, without a summary). A `transient` phase (a quick
   * read before a report) is shown only as a bar and erased when it ends: in a log it would be noise.
   */
  start(label: string, options: { transient?: boolean } = {}): void {
    if (this.label !== undefined) this.end();
    this.label = label;
    this.transient = options.transient === true;
    this.startedAt = this.options.now();
    this.lastPercent = -1;
    this.fraction = undefined;
    this.detail = '';
    if (this.options.mode === 'lines') {
      if (!this.transient) this.write(`${label}...\n`);
      this.lastOutput = this.startedAt;
    } else if (this.options.mode === 'bar') {
      this.lastOutput = Number.NEGATIVE_INFINITY;
      this.draw();
    }
  }

  update(done: number, total: number, detail?: string): void {
    if (this.options.mode === 'off' || this.label === undefined) return;
    this.fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : undefined;
    this.detail = detail ?? '';
    const percent = this.fraction === undefined ? -1 : Math.floor(this.fraction * 100);
    const now = this.options.now();
    if (this.options.mode === 'bar') {
      if (percent !== this.lastPercent && (now - this.lastOutput >= (this.options.redrawMs ?? 80) || percent === 100)) {
        this.lastPercent = percent;
        this.lastOutput = now;
        this.draw();
      }
      return;
    }
    const interval = this.options.lineIntervalMs ?? 2000;
    // A transient phase is left out of a log only while it is quick: one that keeps going (checking a
    // large model's accuracy) is written like any other, so a log never sits silent for minutes.
    if (this.transient && now - this.startedAt >= interval) {
      this.transient = false;
      this.write(`${this.label}...\n`);
      this.lastOutput = now;
      return;
    }
    if (!this.transient && percent >= 0 && percent !== this.lastPercent && percent < 100 && now - this.lastOutput >= interval) {
      this.lastPercent = percent;
      this.lastOutput = now;
      this.write(`${this.label}: ${percent}%${this.detail ? ` ${this.detail}` : ''}\n`);
    }
  }

  /** Ends the current phase with an optional summary ("120 ms", "612 KB"). */
  end(summary?: string): void {
    if (this.label === undefined) return;
    const label = this.label;
    this.label = undefined;
    if (this.options.mode === 'off') return;
    if (this.transient) {
      if (this.drawn) this.write(CLEAR_LINE);
      this.drawn = false;
      return;
    }
    const text = `${label}: done${summary ? ` (${summary})` : ''}`;
    if (this.options.mode === 'bar') {
      this.write(`${CLEAR_LINE}${text}\n`);
      this.drawn = false;
    } else {
      this.write(`${text}\n`);
    }
  }

  /** A message on its own line (a warning) without breaking the bar. */
  note(message: string): void {
    if (this.options.mode === 'off') return;
    if (this.options.mode === 'bar' && this.drawn) {
      this.write(`${CLEAR_LINE}${message}\n`);
      this.drawn = false;
      this.draw();
    } else {
      this.write(`${message}\n`);
    }
  }

  /**
   * A warning the command's report repeats: noted as it happens when the report goes elsewhere (a file,
   * a pipe), left to the report when both reach the same terminal.
   */
  warn(message: string): void {
    if (this.options.reportOnTerminal) return;
    this.note(message);
  }

  /** Erases a drawn bar and forgets the phase (before an error message). */
  abort(): void {
    if (this.options.mode === 'bar' && this.drawn) this.write(CLEAR_LINE);
    this.drawn = false;
    this.label = undefined;
  }

  private draw(): void {
    if (this.label === undefined) return;
    // A pseudo-terminal without a size reports 0 columns.
    const columns = Math.max(20, (this.options.stream.columns || 80) - 1);
    let line = this.label;
    if (this.fraction !== undefined) {
      const filled = Math.round(this.fraction * BAR_WIDTH);
      line += ` [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(this.fraction * 100)).padStart(3)}%`;
    } else {
      line += ' ...';
    }
    if (this.detail) line += ` ${this.detail}`;
    if (line.length > columns) line = `${line.slice(0, columns - 1)}…`;
    this.write(`${CLEAR_LINE}${line}`);
    this.drawn = true;
  }

  private write(text: string): void {
    this.options.stream.write(text);
  }
}
