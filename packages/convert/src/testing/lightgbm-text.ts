/** Writes LightGBM text models for tests, in the layout Booster.save_model uses. */
export interface LgbTree {
  split_feature?: number[];
  threshold?: number[];
  decision_type?: number[];
  left_child?: number[];
  right_child?: number[];
  leaf_value: number[];
  is_linear?: 0 | 1;
}

export interface LgbModel {
  objective: string | null;
  numClass?: number;
  features: number;
  trees: LgbTree[];
  averageOutput?: boolean;
}

export function lightgbmText(m: LgbModel): string {
  const numClass = m.numClass ?? 1;
  const blocks = m.trees.map((t, i) => {
    const leaves = t.leaf_value.length;
    const inner = leaves - 1;
    const list = (v: number[] | undefined, fill: number) => (v ?? new Array<number>(inner).fill(fill)).join(' ');
    return [
      `Tree=${i}`,
      `num_leaves=${leaves}`,
      'num_cat=0',
      `split_feature=${list(t.split_feature, 0)}`,
      `split_gain=${list(undefined, 1)}`,
      `threshold=${list(t.threshold, 0)}`,
      `decision_type=${list(t.decision_type, 2)}`,
      `left_child=${list(t.left_child, 0)}`,
      `right_child=${list(t.right_child, 0)}`,
      `leaf_value=${t.leaf_value.join(' ')}`,
      `leaf_weight=${t.leaf_value.map(() => 1).join(' ')}`,
      `leaf_count=${t.leaf_value.map(() => 1).join(' ')}`,
      `internal_value=${list(undefined, 0)}`,
      `internal_weight=${list(undefined, 1)}`,
      `internal_count=${list(undefined, 1)}`,
      `is_linear=${t.is_linear ?? 0}`,
      'shrinkage=1',
      '',
      '',
    ].join('\n');
  });
  const header = [
    'tree',
    'version=v4',
    `num_class=${numClass}`,
    `num_tree_per_iteration=${numClass}`,
    'label_index=0',
    `max_feature_idx=${m.features - 1}`,
    ...(m.objective === null ? [] : [`objective=${m.objective}`]),
    ...(m.averageOutput ? ['average_output'] : []),
    `feature_names=${Array.from({ length: m.features }, (_, i) => `Column_${i}`).join(' ')}`,
    `feature_infos=${Array.from({ length: m.features }, () => '[-10:10]').join(' ')}`,
    `tree_sizes=${blocks.map((b) => b.length).join(' ')}`,
    '',
    '',
  ].join('\n');
  return `${header}${blocks.join('')}end of trees\n\nfeature_importances:\n\nparameters:\n[boosting: gbdt]\n\nend of parameters\n\npandas_categorical:null\n`;
}
