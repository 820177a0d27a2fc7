/**
 * JSON objects of the Open Inference Protocol's REST API (KServe's rest_predict_v2.yaml), with the
 * parameters of Triton's binary tensor extension.
 */

export type TensorData = readonly (number | string | boolean | TensorData)[];

export interface Parameters {
  readonly [key: string]: unknown;
  /** Binary tensor extension: bytes of this tensor after the JSON header. */
  readonly binary_data_size?: number;
  /** On a requested output: return it as binary data. */
  readonly binary_data?: boolean;
  /** On the request: return every output as binary data. */
  readonly binary_data_output?: boolean;
}

export interface RequestInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly parameters?: Parameters;
  readonly data?: TensorData;
}

export interface RequestOutput {
  readonly name: string;
  readonly parameters?: Parameters;
}

export interface InferenceRequest {
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly inputs: readonly RequestInput[];
  readonly outputs?: readonly RequestOutput[];
}

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: { binary_data_size: number };
  data?: (number | string | boolean)[];
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: ResponseOutput[];
}

export interface MetadataTensor {
  name: string;
  datatype: string;
  /** -1 for a dimension of any size. */
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
  parameters?: Record<string, unknown>;
}

export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

export interface ErrorResponse {
  error: string;
}
