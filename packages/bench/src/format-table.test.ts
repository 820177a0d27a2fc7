import { describe, expect, it } from 'vitest';
import { formatTable, metTarget, metricTable } from './format-table.js';
import { targetsLine } from './save-result.js';

describe('result tables', () => {
  it('pads columns to their widest cell under a dashed rule, without trailing blanks', () => {
    expect(formatTable(['a', 'bb'], [['xyz', ''], ['1', '22']]).split('\n')).toEqual(['a    bb', '---  --', 'xyz', '1    22']);
  });

  it('gives each metric its median, range, target and verdict', () => {
    const metrics = [
      { label: 'decode', unit: 's' as const, samples: [0.2, 0.1, 0.4], target: 0.3 },
      { label: 'peak', unit: 'MB' as const, samples: [900.4, 1000.6], target: 900 },
      { label: 'read', unit: 's' as const, samples: [1] },
    ];
    expect(metrics.map(metTarget)).toEqual([true, false, undefined]);
    const lines = metricTable(metrics).split('\n');
    expect(lines[0]).toMatch(/^metric\s+median of 3\s+range\s+target$/);
    expect(lines[2]).toMatch(/^decode\s+0\.200 s\s+0\.100–0\.400\s+< 0\.3 s\s+ok$/);
    expect(lines[3]).toMatch(/^peak\s+951 MB\s+900–1001\s+< 900 MB\s+MISSED$/);
    expect(lines[4]).toMatch(/^read\s+1\.000 s\s+1\.000–1\.000$/);
  });

  it('closes a run with the missed targets and the results file', () => {
    expect(targetsLine([], 'r.json')).toBe('all targets met; results in r.json');
    expect(targetsLine(['time', 'memory'], 'r.json', ' (load 1.0)')).toBe('targets missed: time, memory (load 1.0); results in r.json');
  });
});
