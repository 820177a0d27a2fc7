import { AttributeType } from '../ir/attributes.js';
import type { AttrSpec, FormalParam, OpSchema, TypeContainer } from './op-schema.js';

/*
 * A compact notation for operator schemas, so each domain's table reads as data.
 *
 * Signature: `'X:T, B?:T, inputs*:V -> Y:T, mask?:T2'`
 *   `?` optional, `*` variadic (at least one value), `*0` variadic that may be empty,
 *   a trailing `~` marks a heterogeneous variadic (each value its own type).
 *   After the colon: a type variable declared in `types`, or a type expression for a fixed-type
 *   parameter, which gets a variable of its own named after the parameter.
 * Type expression: element types and groups joined by `|` (`'float|float16'`, `'$F|bfloat16'`),
 *   optionally wrapped as `seq(...)`, `opt(...)`, `map(...)` or `any(...)` for non-tensor values.
 * Attributes: `'axis:i keepdims:i to:i! perm:is'`, types f i s t g fs is ss ts gs sp sps tp tps,
 *   `!` marks a required attribute.
 */

const ELEM: Record<string, number> = {
  float: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10,
  double: 11, uint32: 12, uint64: 13, complex64: 14, complex128: 15, bfloat16: 16, float8e4m3fn: 17,
  float8e4m3fnuz: 18, float8e5m2: 19, float8e5m2fnuz: 20, uint4: 21, int4: 22, float4e2m1: 23,
};

/** Named groups of element types, as the ONNX spec's type lists grew opset by opset. */
const GROUPS: Record<string, string> = {
  // float16, float, double: the float list of most opset 1-12 operators.
  $F: 'float16|float|double',
  $FB: '$F|bfloat16',
  $I: 'int8|int16|int32|int64',
  $U: 'uint8|uint16|uint32|uint64',
  // The "high precision numeric" list of Add-7, Gemm-9, MatMul-9, ReduceX-1.
  $N7: 'uint32|uint64|int32|int64|$F',
  $N: '$I|$U|$F',
  $NB: '$N|bfloat16',
  // "All tensor types" before bfloat16 was added (opset 13).
  $A: '$N|bool|string|complex64|complex128',
  $AB: '$A|bfloat16',
  $F8: 'float8e4m3fn|float8e4m3fnuz|float8e5m2|float8e5m2fnuz',
  $A19: '$AB|$F8',
  $Q4: 'int4|uint4',
  $A21: '$A19|$Q4',
  // Cast's list: every type except complex.
  $C: '$N|bool|string|bfloat16',
};

const groupCache = new Map<string, number[]>();

/** Expands `'float|$I'` into sorted, unique DataType numbers. */
export function expandTypes(expr: string): number[] {
  const cached = groupCache.get(expr);
  if (cached) return cached;
  const out = new Set<number>();
  for (const raw of expr.split('|')) {
    const t = raw.trim();
    if (!t) continue;
    if (t.startsWith('$')) {
      const g = GROUPS[t];
      if (g === undefined) throw new Error(`schema table: unknown type group ${t}`);
      for (const n of expandTypes(g)) out.add(n);
    } else {
      const n = ELEM[t];
      if (n === undefined) throw new Error(`schema table: unknown element type ${t}`);
      out.add(n);
    }
  }
  const list = [...out].sort((a, b) => a - b);
  groupCache.set(expr, list);
  return list;
}

const CONTAINERS: Record<string, TypeContainer> = { seq: 'sequence', opt: 'optional', map: 'map', any: 'any' };

function parseTypeExpr(expr: string): { types: number[]; container?: TypeContainer } {
  const m = /^(seq|opt|map|any)\((.*)\)$/.exec(expr.trim());
  if (!m) return { types: expandTypes(expr) };
  return { types: expandTypes(m[2] as string), container: CONTAINERS[m[1] as string] as TypeContainer };
}

const ATTR_TYPES: Record<string, number> = {
  f: AttributeType.FLOAT, i: AttributeType.INT, s: AttributeType.STRING, t: AttributeType.TENSOR, g: AttributeType.GRAPH,
  fs: AttributeType.FLOATS, is: AttributeType.INTS, ss: AttributeType.STRINGS, ts: AttributeType.TENSORS,
  gs: AttributeType.GRAPHS, sp: AttributeType.SPARSE_TENSOR, sps: AttributeType.SPARSE_TENSORS, tp: AttributeType.TYPE_PROTO,
  tps: AttributeType.TYPE_PROTOS,
};

function parseAttrs(spec: string): Record<string, AttrSpec> {
  const out: Record<string, AttrSpec> = {};
  for (const item of spec.split(/[\s,]+/)) {
    if (!item) continue;
    const m = /^([A-Za-z_][\w]*):([a-z]+)(!?)$/.exec(item);
    const type = m ? ATTR_TYPES[m[2] as string] : undefined;
    if (!m || type === undefined) throw new Error(`schema table: bad attribute spec "${item}"`);
    out[m[1] as string] = { type, required: m[3] === '!' };
  }
  return out;
}

export interface OpExtra {
  runtimeOnly?: boolean;
  deprecatedSince?: number;
}

/** Collects the schemas of one domain. */
export class SchemaTable {
  readonly schemas: OpSchema[] = [];

  constructor(readonly domain: string) {}

  /** Declares `opType` as of version `since`. */
  op(opType: string, since: number, signature: string, types: Record<string, string> = {}, attrs = '', extra: OpExtra = {}): this {
    this.schemas.push(buildSchema(this.domain, opType, since, signature, types, attrs, extra));
    return this;
  }
}

function buildSchema(
  domain: string, opType: string, since: number, signature: string, types: Record<string, string>, attrs: string, extra: OpExtra,
): OpSchema {
  const where = `${domain || 'ai.onnx'}.${opType}-${since}`;
  const arrow = signature.indexOf('->');
  if (arrow < 0) throw new Error(`schema table: ${where} signature has no "->"`);
  const typeConstraints: Record<string, number[]> = {};
  const containers: Record<string, TypeContainer> = {};
  for (const [v, expr] of Object.entries(types)) {
    const t = parseTypeExpr(expr);
    typeConstraints[v] = t.types;
    if (t.container) containers[v] = t.container;
  }
  const parseSide = (text: string): FormalParam[] => {
    const params: FormalParam[] = [];
    for (const item of text.split(',')) {
      const s = item.trim();
      if (!s) continue;
      const m = /^([\w.]+)(\?|\*0|\*)?(~)?:(.+)$/.exec(s);
      if (!m) throw new Error(`schema table: ${where} bad parameter "${s}"`);
      const [, name, mark, hetero, typeRef] = m as unknown as [string, string, string | undefined, string | undefined, string];
      let typeVar = typeRef.trim();
      if (!(typeVar in types)) {
        // A fixed-type parameter: its own variable, named after the parameter.
        const t = parseTypeExpr(typeVar);
        let v = name;
        while (v in types || (v in typeConstraints && String(typeConstraints[v]) !== String(t.types))) v = `${v}'`;
        typeConstraints[v] = t.types;
        if (t.container) containers[v] = t.container;
        typeVar = v;
      }
      const p: FormalParam = { name, typeVar, option: mark === '?' ? 'optional' : mark ? 'variadic' : 'single' };
      if (mark === '*0') p.minArity = 0;
      else if (mark === '*') p.minArity = 1;
      if (hetero) p.heterogeneous = true;
      params.push(p);
    }
    return params;
  };
  const inputs = parseSide(signature.slice(0, arrow));
  const outputs = parseSide(signature.slice(arrow + 2));
  // As ONNX counts: an optional parameter followed by a single one still takes a slot (an empty
  // name), so the minimum runs up to the last single parameter.
  const arity = (ps: FormalParam[]) => {
    let min = 0;
    let max = 0;
    for (const p of ps) {
      if (p.option === 'single') min = ++max;
      else if (p.option === 'optional') max++;
      else {
        min = max + (p.minArity ?? 1);
        max = Infinity;
      }
    }
    return [min, max] as const;
  };
  const [minInputs, maxInputs] = arity(inputs);
  const [minOutputs, maxOutputs] = arity(outputs);
  const schema: OpSchema = {
    domain, opType, sinceVersion: since, inputs, outputs, typeConstraints, attributes: parseAttrs(attrs),
    minInputs, maxInputs, minOutputs, maxOutputs,
  };
  if (Object.keys(containers).length) schema.containers = containers;
  if (extra.runtimeOnly) schema.runtimeOnly = true;
  if (extra.deprecatedSince !== undefined) schema.deprecatedSince = extra.deprecatedSince;
  return schema;
}
