import { describe, expect, it } from 'vitest';
import { escapeRegExp } from './escape-reg-exp.js';

describe('escapeRegExp', () => {
  it('matches the text literally, metacharacters and all', () => {
    const text = String.raw`/tmp/a.b+c(1)[x]{2}^$|?*\d`;
    expect(new RegExp(`^${escapeRegExp(text)}$`).test(text)).toBe(true);
    expect(new RegExp(escapeRegExp('a.b')).test('axb')).toBe(false);
  });
});
