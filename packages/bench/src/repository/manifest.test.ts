import { describe, expect, it } from 'vitest';
import { PREFERENCES } from '../optimize/choose-variant.js';
import { VARIANT_NAMES } from '../optimize/variant-name.js';
import { sampleManifest } from '../testing/sample-manifest.js';
import { MANIFEST_SCHEMA, VARIANT_STATUSES, validateManifest } from './manifest.js';

const clone = () => structuredClone(sampleManifest()) as unknown as Record<string, unknown> & { variants: Record<string, unknown>[] };

describe('validateManifest', () => {
  it('accepts a manifest as optimize writes it, with non-finite numbers as null', () => {
    const m = clone();
    ((m.variants[1] as { accuracy: { minCosine: number | null } }).accuracy).minCosine = null;
    expect(validateManifest(m).chosen).toBe('int8-dynamic');
  });

  it.each([
    ['a wrong format', (m: ReturnType<typeof clone>) => void (m.format = 'other'), '/format'],
    ['a newer format version', (m: ReturnType<typeof clone>) => void (m.formatVersion = 2), '/formatVersion'],
    ['a model name that is not a folder name', (m: ReturnType<typeof clone>) => void (m.model = '../x'), '/model'],
    ['version 0', (m: ReturnType<typeof clone>) => void (m.version = 0), '/version'],
    ['an unknown target', (m: ReturnType<typeof clone>) => void (m.target = 'tpu'), '/target'],
    ['a chosen variant that failed', (m: ReturnType<typeof clone>) => void (m.chosen = 'fp16'), '/chosen'],
    ['a chosen variant not listed', (m: ReturnType<typeof clone>) => void (m.chosen = 'int8-static'), '/chosen'],
    ['a variant listed twice', (m: ReturnType<typeof clone>) => void m.variants.push({ ...m.variants[0] }), '/variants/4/name'],
    ['a file outside the version folder', (m: ReturnType<typeof clone>) => void ((m.variants[0] as Record<string, unknown>).file = '../fp32.onnx'), '/variants/0/file'],
    ['an ok variant without latency', (m: ReturnType<typeof clone>) => void delete (m.variants[1] as Record<string, unknown>).latencyMs, '/variants/1/latencyMs'],
    ['a failed variant without its error', (m: ReturnType<typeof clone>) => void delete (m.variants[2] as Record<string, unknown>).error, '/variants/2/error'],
    ['an interval that is not a pair', (m: ReturnType<typeof clone>) => void (((m.variants[0] as { latencyMs: { p50Ci95: number[] } }).latencyMs).p50Ci95 = [1]), '/variants/0/latencyMs/p50Ci95'],
  ])('refuses %s, naming where', (_name, mutate, path) => {
    const m = clone();
    mutate(m);
    expect(() => validateManifest(m)).toThrow(expect.objectContaining({ code: 'FORGE_BAD_INPUT', details: { path } }));
  });

  it('agrees with MANIFEST_SCHEMA: every field the schema requires is required, its enums are the same lists', () => {
    for (const key of MANIFEST_SCHEMA.required) {
      const m = clone();
      delete m[key];
      expect(() => validateManifest(m), key).toThrow(/invalid repository manifest/);
    }
    for (const key of MANIFEST_SCHEMA.properties.variants.items.required) {
      const m = clone();
      delete m.variants[0]?.[key];
      expect(() => validateManifest(m), key).toThrow(/invalid repository manifest/);
    }
    expect(MANIFEST_SCHEMA.properties.variants.items.properties.name.enum).toEqual([...VARIANT_NAMES]);
    expect(MANIFEST_SCHEMA.properties.variants.items.properties.status.enum).toEqual([...VARIANT_STATUSES]);
    expect(MANIFEST_SCHEMA.properties.prefer.enum).toEqual([...PREFERENCES]);
    expect(JSON.parse(JSON.stringify(MANIFEST_SCHEMA)).$schema).toMatch(/2020-12/);
  });
});
