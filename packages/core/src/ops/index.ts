export { getOpSchema, knownOps, knownDomains, opSchemaVersions } from './get-op-schema.js';
export { canonicalDomain } from './op-schema.js';
export type { AttrSpec, FormalParam, OpSchema, TypeContainer } from './op-schema.js';
export { expandTypes } from './schema-table.js';
