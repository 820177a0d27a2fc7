import { describe, expect, it } from 'vitest';
import { Progress, progressMode, type ProgressMode } from './progress.js';

function setup(mode: ProgressMode, isTTY = mode === 'bar') {
  let t = 0;
  const chunks: string[] = [];
  const stream = { isTTY, columns: 60, write: (s: string) => chunks.push(s) };
  const progress = new Progress({ stream, mode, now: () => t, lineIntervalMs: 1000, redrawMs: 50 });
  return { progress, chunks, text: () => chunks.join(''), advance: (ms: number) => (t += ms) };
}

describe('Progress', () => {
  it('chooses a bar on a terminal, lines elsewhere, nothing when quiet', () => {
    expect(progressMode({ write: () => {}, isTTY: true }, false)).toBe('bar');
    expect(progressMode({ write: () => {} }, false)).toBe('lines');
    expect(progressMode({ write: () => {}, isTTY: true }, true)).toBe('off');
  });

  it('notes a warning the report repeats only when the report goes elsewhere than the terminal', () => {
    const chunks: string[] = [];
    const stream = { isTTY: true, columns: 60, write: (s: string) => chunks.push(s) };
    const shared = new Progress({ stream, mode: 'bar', now: () => 0, reportOnTerminal: true });
    shared.warn('warning: accuracy not checked');
    shared.note('float16 fails the accuracy check: redoing it');
    expect(chunks.join('')).toBe('float16 fails the accuracy check: redoing it\n');
    chunks.length = 0;
    const piped = new Progress({ stream, mode: 'bar', now: () => 0, reportOnTerminal: false });
    piped.warn('warning: accuracy not checked');
    expect(chunks.join('')).toBe('warning: accuracy not checked\n');
  });

  it('redraws one line on a terminal, throttled, and leaves a done line', () => {
    const p = setup('bar');
    p.progress.start('[1/1] fp16');
    for (let i = 1; i <= 100; i++) {
      p.advance(10);
      p.progress.update(i, 100);
    }
    p.progress.end('120 ms');
    const text = p.text();
    expect(text).toContain('\r\x1b[2K[1/1] fp16 [');
    expect(text).toContain('█'.repeat(24) + '] 100%');
    expect(text.endsWith('\r\x1b[2K[1/1] fp16: done (120 ms)\n')).toBe(true);
    // 100 updates 10 ms apart with a 50 ms redraw interval: about 20 redraws, not 100.
    const redraws = p.chunks.filter((c) => c.includes('%')).length;
    expect(redraws).toBeGreaterThan(10);
    expect(redraws).toBeLessThan(30);
    for (const c of p.chunks) expect(c.replace(/\r\x1b\[2K/g, '').replace(/\n$/, '').length).toBeLessThanOrEqual(59);
  });

  it('prints plain periodic lines off a terminal', () => {
    const p = setup('lines');
    p.progress.start('writing out.onnx');
    for (let i = 1; i <= 10; i++) {
      p.advance(300);
      p.progress.update(i, 10);
    }
    p.progress.end('1 MB');
    // A line at most every 1000 ms: at 1200 ms (40%) and 2400 ms (80%); 100% is the done line.
    expect(p.text()).toBe('writing out.onnx...\nwriting out.onnx: 40%\nwriting out.onnx: 80%\nwriting out.onnx: done (1 MB)\n');
    expect(p.text()).not.toMatch(/[\r\x1b]/);
  });

  it('writes a transient phase to a log once it runs long, so the log never sits silent', () => {
    const p = setup('lines');
    p.progress.start('checking float16 against float32', { transient: true });
    p.advance(400);
    p.progress.update(1, 16);
    expect(p.text()).toBe('');
    for (let i = 2; i <= 16; i++) {
      p.advance(400);
      p.progress.update(i, 16, `${i}/16 runs`);
    }
    p.progress.end();
    // Announced at 1200 ms, then a line at most every 1000 ms (updates come every 400), and a done line.
    expect(p.text()).toBe(
      'checking float16 against float32...\n' +
      'checking float16 against float32: 37% 6/16 runs\n' +
      'checking float16 against float32: 56% 9/16 runs\n' +
      'checking float16 against float32: 75% 12/16 runs\n' +
      'checking float16 against float32: 93% 15/16 runs\n' +
      'checking float16 against float32: done\n',
    );
    // The next quick transient phase is left out again.
    p.progress.start('reading', { transient: true });
    p.progress.end();
    expect(p.text().endsWith('done\n')).toBe(true);
  });

  it('keeps notes on their own line under a bar', () => {
    const p = setup('bar');
    p.progress.start('pass');
    p.progress.update(1, 2);
    p.progress.note('warning: something');
    expect(p.text()).toContain('\r\x1b[2Kwarning: something\n\r\x1b[2Kpass [');
  });

  it('shows transient phases only as a bar', () => {
    const lines = setup('lines');
    lines.progress.start('reading', { transient: true });
    lines.progress.end();
    expect(lines.text()).toBe('');
    const bar = setup('bar');
    bar.progress.start('reading', { transient: true });
    bar.progress.end();
    expect(bar.text()).toBe('\r\x1b[2Kreading ...\r\x1b[2K');
  });

  it('prints nothing when off', () => {
    const p = setup('off');
    p.progress.start('x');
    p.progress.update(1, 2);
    p.progress.note('n');
    p.progress.end('y');
    expect(p.text()).toBe('');
  });
});
