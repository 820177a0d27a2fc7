import Long from 'long';

/**
 * Where two decoded protobuf messages differ, or undefined when they are equal. Byte fields compare
 * by content (a Buffer view and a Uint8Array copy are equal), int64 fields must be the same kind on
 * both sides (the reader narrows to a number exactly when the value fits, so a Long on one side and a
 * number on the other means the two decodes disagree) and the same value, floats compare with
 * `Object.is` (so -0 and NaN round-trip are checked). Field presence counts: a field set to its default
 * on one side and absent on the other is a difference, because the encoder writes present fields.
 * Unknown fields (`$unknowns`, not enumerable) are compared too.
 */
export function messageDiff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === b) return undefined;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return `${path}: bytes vs ${kind(a === undefined ? b : a)}`;
    if (a.length !== b.length) return `${path}: ${a.length} bytes vs ${b.length} bytes`;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${path}[${i}]: byte ${a[i]} vs ${b[i]}`;
    return undefined;
  }
  if (Long.isLong(a) || Long.isLong(b)) {
    if (!(Long.isLong(a) && Long.isLong(b))) return `${path}: int64 as ${kind(a)} vs ${kind(b)}`;
    const la = a as Long;
    const lb = b as Long;
    return la.equals(lb) && la.unsigned === lb.unsigned ? undefined : `${path}: ${la.toString()} vs ${lb.toString()}`;
  }
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? undefined : `${path}: ${a} vs ${b}`;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b))) return `${path}: array vs ${kind(Array.isArray(a) ? b : a)}`;
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} elements`;
    for (let i = 0; i < a.length; i++) {
      const d = messageDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = fieldNames(a);
    const kb = fieldNames(b);
    for (const k of ka) if (!kb.has(k)) return `${path}.${k}: present vs absent`;
    for (const k of kb) if (!ka.has(k)) return `${path}.${k}: absent vs present`;
    for (const k of ka) {
      const d = messageDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return `${path}: ${show(a)} vs ${show(b)}`;
}

/** Own fields of a message; an empty `$unknowns` list counts as absent. */
function fieldNames(o: object): Set<string> {
  const names = new Set(Object.keys(o));
  const unknowns = (o as { $unknowns?: unknown[] }).$unknowns;
  if (Object.prototype.hasOwnProperty.call(o, '$unknowns') && Array.isArray(unknowns) && unknowns.length) names.add('$unknowns');
  else names.delete('$unknowns');
  return names;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Long.isLong(v)) return 'Long';
  if (v instanceof Uint8Array) return 'bytes';
  return Array.isArray(v) ? 'array' : typeof v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : `${kind(v)} ${String(v)}`;
}
