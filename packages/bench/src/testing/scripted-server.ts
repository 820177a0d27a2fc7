import type { ManualClock } from '@onnx-forge/runtime';
import { sleep } from '../measure/bench-clock.js';

/**
 * A server on a manual clock for tests of the measuring loops: `workers` runs at once, each taking
 * `serviceMs(now)` of clock time; calls beyond that wait in a queue (first come, first served). Its
 * figures are known exactly: throughput min(c, workers) / service, latency service × ceil(c / workers).
 */
export function scriptedServer(clock: ManualClock, workers: number, serviceMs: number | ((now: number) => number)): { run: () => Promise<void>; calls: () => number } {
  let busy = 0;
  let calls = 0;
  const queue: (() => void)[] = [];
  const service = typeof serviceMs === 'number' ? () => serviceMs : serviceMs;
  const run = async () => {
    calls++;
    if (busy >= workers) await new Promise<void>((resolve) => queue.push(resolve));
    else busy++;
    await sleep(clock, service(clock.now()));
    const next = queue.shift();
    if (next) next();
    else busy--;
  };
  return { run, calls: () => calls };
}
