import { type MessageFields, WIRE_SCHEMA, WIRE_TYPE_NAMES, messageClasses, wireTypesOf } from './wire-schema.js';

/** A known field that arrived with a wire type its declaration does not allow. */
export interface WireTypeMismatch {
  message: string;
  field: number;
  fieldName: string;
  wireType: number;
  /** Byte offset of the field's tag in the decoded buffer. */
  offset: number;
  /** Human-readable summary. */
  text: string;
}

let byClass: Map<unknown, readonly [string, MessageFields]> | undefined;

function schemaOf(ctor: unknown): readonly [string, MessageFields] | undefined {
  if (!byClass) {
    byClass = new Map();
    for (const [name, cls] of messageClasses()) {
      const fields = WIRE_SCHEMA[name];
      if (cls && fields) byClass.set(cls, [name, fields]);
    }
  }
  return byClass.get(ctor);
}

/**
 * The first field in a decoded message tree that the decoder set aside as unknown although its number
 * is known to the schema (so its wire type was wrong), or undefined. Unknown enum values of a known
 * field arrive with the right wire type and are kept, as protobuf does. Only messages that hold
 * `$unknowns` cost anything beyond a walk over the message objects.
 */
export function findWireTypeMismatch(root: object, buffer: Uint8Array): WireTypeMismatch | undefined {
  const stack: object[] = [root];
  while (stack.length) {
    const obj = stack.pop() as object;
    const schema = schemaOf(obj.constructor);
    if (!schema) continue;
    const [message, fields] = schema;
    const unknowns = Object.prototype.hasOwnProperty.call(obj, '$unknowns') ? (obj as { $unknowns?: Uint8Array[] }).$unknowns : undefined;
    for (const raw of unknowns ?? []) {
      const tag = readTag(raw);
      const field = tag >>> 3;
      const wireType = tag & 7;
      const spec = fields[field];
      if (!spec || wireTypesOf(spec[1]).includes(wireType)) continue;
      const offset = raw.buffer === buffer.buffer ? raw.byteOffset - buffer.byteOffset : -1;
      const allowed = wireTypesOf(spec[1]).map((w) => `${w} (${WIRE_TYPE_NAMES[w]})`).join(' or ');
      return {
        message,
        field,
        fieldName: spec[0],
        wireType,
        offset,
        text: `field ${field} ("${spec[0]}") of onnx.${message} has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType]}) where the schema says ${allowed}` +
          (offset >= 0 ? `, at byte ${offset}` : ''),
      };
    }
    for (const key of Object.keys(obj)) {
      const value = (obj as Record<string, unknown>)[key];
      if (value === null || typeof value !== 'object' || value instanceof Uint8Array) continue;
      if (Array.isArray(value)) {
        // Repeated scalars (float_data, dims) hold no messages: look at the first element only.
        if (value.length && typeof value[0] === 'object' && !(value[0] instanceof Uint8Array)) {
          for (const item of value) if (item && typeof item === 'object') stack.push(item as object);
        }
      } else {
        stack.push(value);
      }
    }
  }
  return undefined;
}

/** The tag varint at the start of a raw field (at most 5 bytes for a 32-bit tag). */
function readTag(raw: Uint8Array): number {
  let tag = 0;
  for (let i = 0; i < 5 && i < raw.length; i++) {
    const b = raw[i] as number;
    tag += (b & 127) * 2 ** (7 * i);
    if (!(b & 128)) break;
  }
  return tag >>> 0;
}
