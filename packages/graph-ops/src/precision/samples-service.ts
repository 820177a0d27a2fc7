import type { RunnerFeeds } from '@onnx-forge/core';

/** Sample feeds from an array, an iterable or an async iterable (anything else gives none), read into an array. */
export async function collectSamples(source: unknown): Promise<RunnerFeeds[]> {
  if (Array.isArray(source)) return source as RunnerFeeds[];
  if (source && typeof (source as AsyncIterable<RunnerFeeds>)[Symbol.asyncIterator] === 'function') {
    const out: RunnerFeeds[] = [];
    for await (const s of source as AsyncIterable<RunnerFeeds>) out.push(s);
    return out;
  }
  if (source && typeof (source as Iterable<RunnerFeeds>)[Symbol.iterator] === 'function') return [...(source as Iterable<RunnerFeeds>)];
  return [];
}
