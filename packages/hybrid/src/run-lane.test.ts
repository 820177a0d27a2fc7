import { describe, expect, it } from 'vitest';
import { RunLane } from './run-lane.js';

describe('RunLane', () => {
  it('one server: a call that came while others ran is timed from the end of the one before it', () => {
    const lane = new RunLane(1);
    // Three calls at t=0 that run 10, 4 and 6 ms one after the other; a fourth comes after the lane emptied.
    const [a, b, c] = [lane.begin(), lane.begin(), lane.begin()];
    expect(lane.end(a, 0, 10)).toBe(10);
    expect(lane.end(b, 0, 14)).toBe(4);
    expect(lane.end(c, 0, 20)).toBe(6);
    const d = lane.begin();
    expect(lane.end(d, 30, 33)).toBe(3);
  });

  it('a call refused at once (it never held the thread) does not shorten the wait of the call behind it', () => {
    const lane = new RunLane(1);
    const [a, refused, c] = [lane.begin(), lane.begin(), lane.begin()];
    expect(lane.end(refused, 0, 0)).toBe(0);
    expect(lane.end(a, 0, 10)).toBe(10);
    expect(lane.end(c, 0, 16)).toBe(6);
  });

  it('two servers: a call waits for the call two places ahead; one that ends out of order counts whole', () => {
    const lane = new RunLane(2);
    const [a, b, c, d] = [lane.begin(), lane.begin(), lane.begin(), lane.begin()];
    expect(lane.end(a, 0, 10)).toBe(10);
    expect(lane.end(b, 0, 12)).toBe(12);
    // c took a's server at 10, d b's at 12.
    expect(lane.end(c, 0, 15)).toBe(5);
    expect(lane.end(d, 0, 20)).toBe(8);
    // e's turn came when c ended (15); f passed e: the call two places ahead of it (d) had ended at 20.
    const [e, f] = [lane.begin(), lane.begin()];
    expect(lane.end(f, 16, 25)).toBe(5);
    expect(lane.end(e, 16, 40)).toBe(24);
  });
});
