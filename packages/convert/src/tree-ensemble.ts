/**
 * The one intermediate form every parser produces and both the ONNX builder and the JavaScript scorer
 * consume: a list of binary trees over numeric features plus a description of how their leaves combine
 * into what the original library's `predict` returns.
 */

export type SourceFormat = 'lightgbm' | 'xgboost' | 'mljs';

/** A numeric split. Children are indices into the tree's `nodes`. */
export interface SplitNode {
  readonly kind: 'split';
  readonly feature: number;
  /** Compared exactly as a double (LightGBM and mljs thresholds are doubles; XGBoost's are float32 values). */
  readonly threshold: number;
  /** `le`: left when x <= threshold (LightGBM). `lt`: left when x < threshold (XGBoost, mljs). */
  readonly op: 'le' | 'lt';
  /** Where NaN goes. */
  readonly missingLeft: boolean;
  /**
   * LightGBM's zero-as-missing: zero (after the ensemble's `snapToZero`) goes where NaN goes, the
   * default child, instead of being compared.
   */
  readonly zeroIsMissing: boolean;
  readonly left: number;
  readonly right: number;
}

/** A leaf adds `value` to each listed target of the ensemble's score vector. */
export interface LeafNode {
  readonly kind: 'leaf';
  readonly weights: readonly LeafWeight[];
}

export interface LeafWeight {
  readonly target: number;
  readonly value: number;
}

export type TreeNode = SplitNode | LeafNode;

/** One tree; node 0 is the root. */
export interface Tree {
  readonly nodes: readonly TreeNode[];
}

/**
 * How per-tree leaf values become the raw score vector (`numTargets` wide):
 * - `sum`: base + Σ leaves (boosting).
 * - `mean`: base + Σ leaves / `count` (LightGBM random-forest mode; mljs forest regression).
 * - `vote`: every tree's leaf names one class (its single weight's target); the label is mljs's
 *   `arrayMode` over the trees in order (the class whose count first reaches the final maximum wins a
 *   tie), the probabilities are vote shares.
 */
export type Combine = { readonly kind: 'sum' } | { readonly kind: 'mean'; readonly count: number } | { readonly kind: 'vote' };

export type RegressionTransform =
  /** The raw score is the prediction. */
  | 'identity'
  /** exp(raw): poisson, gamma, tweedie. */
  | 'exp'
  /** 1 / (1 + exp(-raw)): LightGBM cross_entropy, XGBoost reg:logistic. */
  | 'sigmoid'
  /** sign(raw) · raw²: LightGBM regression objectives trained with `reg_sqrt`. */
  | 'signed-square';

export type ClassificationTransform =
  /** One raw score s per row; P(class 1) = 1 / (1 + exp(-scale · s)), P(class 0) = 1 − P(class 1). */
  | 'binary-sigmoid'
  /** softmax over the class scores. */
  | 'softmax'
  /** 1 / (1 + exp(-scale · s)) per class, not normalised (LightGBM multiclassova). */
  | 'sigmoid-per-class'
  /** The scores already are the probabilities (a CART tree's leaf distribution; vote shares). */
  | 'none';

export type OutputSpec =
  | { readonly kind: 'regression'; readonly transform: RegressionTransform }
  | {
      readonly kind: 'classification';
      readonly numClasses: number;
      readonly transform: ClassificationTransform;
      /** The sigmoid's k (LightGBM `sigmoid:k`); 1 elsewhere. */
      readonly sigmoidScale: number;
    };

export interface TreeEnsemble {
  readonly format: SourceFormat;
  /** The objective as the source names it (`binary sigmoid:1`, `multi:softprob`, `RFClassifier`...). */
  readonly objective: string;
  readonly numFeatures: number;
  /**
   * Inputs with |x| <= snapToZero are read as exactly 0 before any split (LightGBM's predictor keeps
   * only |x| > 1e-35f as non-zero; its zero-as-missing test is then a test for 0). 0 for no snapping.
   */
  readonly snapToZero: number;
  /**
   * An input value read as missing (NaN) before any split, besides NaN itself: XGBoost's DMatrix drops
   * entries equal to its `missing` (a float32). Absent: only NaN is missing.
   */
  readonly missingValue?: number;
  /**
   * The class each label index stands for, where the source's predict returns other labels than
   * 0..classes-1 (XGBoost 1.x's scikit-learn wrapper with its label encoder). Absent: the index itself.
   */
  readonly classLabels?: readonly number[];
  /** Width of the raw score vector (1 for regression and binary models, the class count otherwise). */
  readonly numTargets: number;
  /** Added to the raw scores, one per target (margin space). */
  readonly base: readonly number[];
  readonly combine: Combine;
  readonly output: OutputSpec;
  readonly trees: readonly Tree[];
  /** What the conversion should tell its user about the source (trees an early-stopped model keeps past its best round). */
  readonly notes?: readonly string[];
}

/**
 * Whether the ensemble's raw scores are margins that a `rawScore` conversion can expose: boosted
 * models have them; mljs models predict votes, frequencies or means directly.
 */
export function hasMargins(ensemble: TreeEnsemble): boolean {
  return ensemble.format !== 'mljs' && ensemble.combine.kind !== 'vote' && !(ensemble.output.kind === 'classification' && ensemble.output.transform === 'none');
}

/** Class count of a classifier, undefined for a regressor. */
export function classCount(ensemble: TreeEnsemble): number | undefined {
  return ensemble.output.kind === 'classification' ? ensemble.output.numClasses : undefined;
}
