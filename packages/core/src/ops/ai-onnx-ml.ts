import type { OpSchema } from './op-schema.js';
import { SchemaTable } from './schema-table.js';

/** The ai.onnx.ml operators (classic machine learning: trees, linear models, encoders), up to ml opset 5. */
export function aiOnnxMlSchemas(): OpSchema[] {
  const t = new SchemaTable('ai.onnx.ml');
  const op = t.op.bind(t);
  const NUM = 'float|double|int64|int32';
  // Map-typed values: the listed element types are the value types of the maps.
  const MAPS = 'map(string|int64|float|double)';

  op('ArrayFeatureExtractor', 1, 'X:T, Y:int64 -> Z:T', { T: `${NUM}|string` });
  op('Binarizer', 1, 'X:T -> Y:T', { T: NUM }, 'threshold:f');
  op('CastMap', 1, 'X:T1 -> Y:T2', { T1: 'map(string|float)', T2: 'string|float|int64' }, 'cast_to:s map_form:s max_map:i');
  op('CategoryMapper', 1, 'X:T1 -> Y:T2', { T1: 'string|int64', T2: 'string|int64' },
    'cats_int64s:is cats_strings:ss default_int64:i default_string:s');
  op('DictVectorizer', 1, 'X:T1 -> Y:T2', { T1: MAPS, T2: 'int64|float|double|string' }, 'int64_vocabulary:is string_vocabulary:ss');
  op('FeatureVectorizer', 1, 'X*:T1 -> Y:float', { T1: NUM }, 'inputdimensions:is');
  op('Imputer', 1, 'X:T -> Y:T', { T: NUM },
    'imputed_value_floats:fs imputed_value_int64s:is replaced_value_float:f replaced_value_int64:i');
  op('LabelEncoder', 1, 'X:T1 -> Y:T2', { T1: 'string|int64', T2: 'string|int64' }, 'classes_strings:ss default_int64:i default_string:s');
  const LE2 = 'default_float:f default_int64:i default_string:s keys_floats:fs keys_int64s:is keys_strings:ss values_floats:fs values_int64s:is values_strings:ss';
  op('LabelEncoder', 2, 'X:T1 -> Y:T2', { T1: 'string|int64|float', T2: 'string|int64|float' }, LE2);
  op('LabelEncoder', 4, 'X:T1 -> Y:T2', { T1: 'string|int64|float|int32|int16|double', T2: 'string|int64|float|int32|int16|double' },
    `${LE2} default_tensor:t keys_tensor:t values_tensor:t`);
  op('LinearClassifier', 1, 'X:T1 -> Y:T2, Z:float', { T1: NUM, T2: 'string|int64' },
    'classlabels_ints:is classlabels_strings:ss coefficients:fs! intercepts:fs multi_class:i post_transform:s');
  op('LinearRegressor', 1, 'X:T -> Y:float', { T: NUM }, 'coefficients:fs intercepts:fs post_transform:s targets:i');
  op('Normalizer', 1, 'X:T -> Y:float', { T: NUM }, 'norm:s');
  op('OneHotEncoder', 1, 'X:T -> Y:double', { T: 'string|int64|int32|float|double' }, 'cats_int64s:is cats_strings:ss zeros:i');
  op('SVMClassifier', 1, 'X:T1 -> Y:T2, Z:float', { T1: NUM, T2: 'string|int64' },
    'classlabels_ints:is classlabels_strings:ss coefficients:fs kernel_params:fs kernel_type:s post_transform:s prob_a:fs prob_b:fs rho:fs support_vectors:fs vectors_per_class:is');
  op('SVMRegressor', 1, 'X:T -> Y:float', { T: NUM },
    'coefficients:fs kernel_params:fs kernel_type:s n_supports:i one_class:i post_transform:s rho:fs support_vectors:fs');
  op('Scaler', 1, 'X:T -> Y:float', { T: NUM }, 'offset:fs scale:fs');
  const NODES = 'nodes_falsenodeids:is nodes_featureids:is nodes_hitrates:fs nodes_missing_value_tracks_true:is nodes_modes:ss nodes_nodeids:is nodes_treeids:is nodes_truenodeids:is nodes_values:fs post_transform:s';
  const TEC = `base_values:fs class_ids:is class_nodeids:is class_treeids:is class_weights:fs classlabels_int64s:is classlabels_strings:ss ${NODES}`;
  op('TreeEnsembleClassifier', 1, 'X:T1 -> Y:T2, Z:float', { T1: NUM, T2: 'string|int64' }, TEC);
  op('TreeEnsembleClassifier', 3, 'X:T1 -> Y:T2, Z:float', { T1: NUM, T2: 'string|int64' },
    `${TEC} base_values_as_tensor:t class_weights_as_tensor:t nodes_hitrates_as_tensor:t nodes_values_as_tensor:t`, { deprecatedSince: 5 });
  const TER = `aggregate_function:s base_values:fs n_targets:i target_ids:is target_nodeids:is target_treeids:is target_weights:fs ${NODES}`;
  op('TreeEnsembleRegressor', 1, 'X:T -> Y:float', { T: NUM }, TER);
  op('TreeEnsembleRegressor', 3, 'X:T -> Y:float', { T: NUM },
    `${TER} base_values_as_tensor:t nodes_hitrates_as_tensor:t nodes_values_as_tensor:t target_weights_as_tensor:t`, { deprecatedSince: 5 });
  op('TreeEnsemble', 5, 'X:T -> Y:T', { T: 'float|double|float16' },
    'aggregate_function:i leaf_targetids:is! leaf_weights:t! membership_values:t n_targets:i nodes_falseleafs:is! nodes_falsenodeids:is! nodes_featureids:is! nodes_hitrates:t nodes_missing_value_tracks_true:is nodes_modes:t! nodes_splits:t! nodes_trueleafs:is! nodes_truenodeids:is! post_transform:i tree_roots:is!');
  op('ZipMap', 1, 'X:float -> Z:T', { T: 'seq(float)' }, 'classlabels_int64s:is classlabels_strings:ss');
  return t.schemas;
}
