import type { PassReport } from './pass-manager.js';

/** Progress of a running pass. */
export interface PassProgress {
  pass: string;
  done: number;
  total: number;
  label?: string;
}

/** What a PassManager (or runPass) tells its listener while it runs. */
export type PassEvent =
  | { type: 'pass-start'; pass: string; index: number; total: number }
  | ({ type: 'progress' } & PassProgress)
  | { type: 'pass-end'; pass: string; report: PassReport }
  | { type: 'warning'; pass: string; message: string };
