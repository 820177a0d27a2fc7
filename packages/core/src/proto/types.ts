// The ONNX message shapes, generated from proto/onnx.proto (see onnx-types.generated.ts and
// scripts/gen-proto.mjs). Code imports them from here, so regenerating touches no importer.
export * from './onnx-types.generated.js';
