import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { type FieldKind, WIRE_SCHEMA, messageClasses } from './wire-schema.js';

const protoFile = join(dirname(fileURLToPath(import.meta.url)), '../../proto/onnx.proto');

const SCALAR_KIND: Record<string, FieldKind> = {
  int32: 'varint', int64: 'varint', uint32: 'varint', uint64: 'varint', sint32: 'varint', sint64: 'varint', bool: 'varint',
  float: 'fixed32', fixed32: 'fixed32', sfixed32: 'fixed32', double: 'fixed64', fixed64: 'fixed64', sfixed64: 'fixed64',
  string: 'bytes', bytes: 'bytes',
};

/** The table as protobufjs reflection reads it from proto/onnx.proto. */
function fromProto(): Record<string, Record<number, [string, FieldKind]>> {
  const root = new protobuf.Root().loadSync(protoFile, { keepCase: true });
  const out: Record<string, Record<number, [string, FieldKind]>> = {};
  const visit = (ns: protobuf.NamespaceBase, prefix: string) => {
    for (const nested of ns.nestedArray) {
      if (!(nested instanceof protobuf.Type)) continue;
      const name = prefix + nested.name;
      const fields: Record<number, [string, FieldKind]> = {};
      for (const f of nested.fieldsArray) {
        f.resolve();
        let kind: FieldKind;
        if (f.resolvedType instanceof protobuf.Type) kind = 'bytes';
        else if (f.resolvedType instanceof protobuf.Enum) kind = 'varint';
        else kind = SCALAR_KIND[f.type] as FieldKind;
        if (f.repeated && kind !== 'bytes') kind = `${kind}s` as FieldKind;
        fields[f.id] = [f.name, kind];
      }
      out[name] = fields;
      visit(nested, `${name}.`);
    }
  };
  visit(root.lookup('onnx') as protobuf.Namespace, '');
  return out;
}

describe('WIRE_SCHEMA', () => {
  it('matches proto/onnx.proto field for field', () => {
    expect(WIRE_SCHEMA).toEqual(fromProto());
  });

  it('names a generated message class for every message', () => {
    for (const [name, cls] of messageClasses()) expect(typeof cls, name).toBe('function');
  });
});
