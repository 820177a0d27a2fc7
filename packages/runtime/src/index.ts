export { OrtRunner } from './ort-runner.js';
export type { OrtRunnerOptions } from './ort-runner.js';
