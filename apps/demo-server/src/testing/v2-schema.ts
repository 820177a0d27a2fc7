/**
 * The response objects of KServe's published OpenAPI for the V2 protocol (rest_predict_v2.yaml),
 * restated as JSON Schema with the binary tensor extension's allowance (an output sent as binary data
 * has `parameters.binary_data_size` and no `data`), and a small validator for the keywords used.
 */

type Schema = {
  type?: string | readonly string[];
  required?: readonly string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: readonly Schema[];
  $ref?: string;
  enum?: readonly unknown[];
};

const tensorData: Schema = { type: 'array', items: { anyOf: [{ $ref: 'tensor_data' }, { type: 'number' }, { type: 'string' }, { type: 'boolean' }] } };
const parameters: Schema = { type: 'object' };

export const V2_SCHEMAS: Record<string, Schema> = {
  tensor_data: tensorData,
  parameters,
  metadata_server_response: {
    type: 'object',
    required: ['name', 'version', 'extensions'],
    properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
  },
  metadata_tensor: {
    type: 'object',
    required: ['name', 'datatype', 'shape'],
    properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
  },
  metadata_model_response: {
    type: 'object',
    required: ['name', 'platform'],
    properties: {
      name: { type: 'string' },
      versions: { type: 'array', items: { type: 'string' } },
      platform: { type: 'string' },
      inputs: { type: 'array', items: { $ref: 'metadata_tensor' } },
      outputs: { type: 'array', items: { $ref: 'metadata_tensor' } },
    },
  },
  response_output: {
    type: 'object',
    required: ['name', 'shape', 'datatype'],
    properties: {
      name: { type: 'string' },
      shape: { type: 'array', items: { type: 'integer' } },
      datatype: { type: 'string', enum: ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] },
      parameters,
      data: { $ref: 'tensor_data' },
    },
  },
  inference_response: {
    type: 'object',
    required: ['model_name', 'outputs'],
    properties: {
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      id: { type: 'string' },
      parameters,
      outputs: { type: 'array', items: { $ref: 'response_output' } },
    },
  },
  error_response: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
  repository_index_response: {
    type: 'array',
    items: {
      type: 'object',
      required: ['name', 'state', 'reason'],
      properties: { name: { type: 'string' }, version: { type: 'string' }, state: { type: 'string', enum: ['UNKNOWN', 'READY', 'UNAVAILABLE', 'LOADING', 'UNLOADING'] }, reason: { type: 'string' } },
    },
  },
};

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function check(schema: Schema, v: unknown, at: string, problems: string[]): void {
  if (schema.$ref) {
    const target = V2_SCHEMAS[schema.$ref];
    if (!target) throw new Error(`unknown schema ${schema.$ref}`);
    check(target, v, at, problems);
    return;
  }
  if (schema.anyOf) {
    if (!schema.anyOf.some((s) => { const p: string[] = []; check(s, v, at, p); return p.length === 0; })) problems.push(`${at}: matches none of anyOf`);
    return;
  }
  if (schema.type) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    const k = kind(v);
    if (!types.includes(k) && !(k === 'integer' && types.includes('number'))) {
      problems.push(`${at}: expected ${types.join('|')}, got ${k}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(v)) problems.push(`${at}: ${JSON.stringify(v)} is not one of ${schema.enum.join(', ')}`);
  if (schema.required) for (const r of schema.required) if ((v as Record<string, unknown>)[r] === undefined) problems.push(`${at}: missing required '${r}'`);
  if (schema.properties) {
    for (const [k, s] of Object.entries(schema.properties)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) check(s, x, `${at}/${k}`, problems);
    }
  }
  if (schema.items && Array.isArray(v)) v.forEach((x, i) => check(schema.items as Schema, x, `${at}/${i}`, problems));
}

/** The problems of `value` against the named schema (empty when it conforms). */
export function v2Problems(name: keyof typeof V2_SCHEMAS | string, value: unknown): string[] {
  const schema = V2_SCHEMAS[name];
  if (!schema) throw new Error(`unknown schema ${name}`);
  const problems: string[] = [];
  check(schema, value, '', problems);
  // An output carries its values as JSON data or, with the binary extension, as binary_data_size.
  if (name === 'inference_response' && problems.length === 0) {
    for (const [i, o] of ((value as { outputs: { data?: unknown; parameters?: { binary_data_size?: unknown } }[] }).outputs).entries()) {
      const size = o.parameters?.binary_data_size;
      if (o.data === undefined && !(Number.isInteger(size) && (size as number) >= 0)) problems.push(`/outputs/${i}: neither data nor parameters.binary_data_size`);
      if (o.data !== undefined && size !== undefined) problems.push(`/outputs/${i}: both data and binary_data_size`);
    }
  }
  return problems;
}
