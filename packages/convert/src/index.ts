export { convertModel, convertEnsemble, convertLightGbm, convertXgboost, convertMljs, detectFormat, parseTreeModel } from './convert-model.js';
export type { ConvertOptions, ConvertReport, ConvertResult } from './convert-model.js';
export { parseLightGbm, LIGHTGBM_ZERO_THRESHOLD } from './parse-lightgbm.js';
export { parseXgboost, parseBaseScore } from './parse-xgboost.js';
export { parseMljs, MLJS_MODEL_NAMES } from './parse-mljs.js';
export type { MljsParseOptions } from './parse-mljs.js';
export { treeEnsembleToOnnx, OUTPUT_NAMES, ONNX_OPSET, ML_OPSET } from './build-onnx.js';
export type { BuildOptions } from './build-onnx.js';
export { predictTrees } from './predict-trees.js';
export type { TreePredictions, TreeInput } from './predict-trees.js';
export { float32AtMost, float32AtLeast } from './float32-bounds.js';
export { hasMargins, classCount } from './tree-ensemble.js';
export type {
  TreeEnsemble, Tree, TreeNode, SplitNode, LeafNode, LeafWeight, Combine, OutputSpec, RegressionTransform,
  ClassificationTransform, SourceFormat,
} from './tree-ensemble.js';
