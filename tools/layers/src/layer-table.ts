/**
 * The layer table of /work/shared/ARCHITECTURE.md as data: what each project's published files may
 * import. Tests, test helpers and scripts are held to less (see checkLayers): anything but an app,
 * and no package that depends on their own.
 */
export interface ImportRule {
  /** Workspace packages published files may import, or any package (never an app). */
  readonly packages: readonly string[] | 'any';
  /** Whether published files may import onnxruntime (onnxruntime-node, -web, -common). */
  readonly onnxruntime: boolean;
}

export interface Layer extends ImportRule {
  readonly kind: 'package' | 'app' | 'tool';
  /**
   * Entry points with rules of their own, by the folder (relative to the project) that holds them:
   * their files follow that rule, and files outside the folder must not import into it (else the
   * main entry would carry what only that entry may use).
   */
  readonly entries?: Readonly<Record<string, ImportRule>>;
}

const CORE = '@onnx-forge/core';
const RUNTIME = '@onnx-forge/runtime';

export const LAYERS: Readonly<Record<string, Layer>> = {
  [CORE]: { kind: 'package', packages: [], onnxruntime: false },
  '@onnx-forge/graph-ops': { kind: 'package', packages: [CORE], onnxruntime: false },
  [RUNTIME]: { kind: 'package', packages: [CORE], onnxruntime: true },
  '@onnx-forge/hybrid': { kind: 'package', packages: [CORE, RUNTIME], onnxruntime: false },
  '@onnx-forge/convert': {
    kind: 'package',
    packages: [CORE],
    onnxruntime: false,
    entries: { 'src/mljs-backend': { packages: 'any', onnxruntime: true } },
  },
  '@onnx-forge/bench': { kind: 'package', packages: 'any', onnxruntime: true },
  'onnx-forge': { kind: 'app', packages: 'any', onnxruntime: true },
  '@onnx-forge/demo-server': { kind: 'app', packages: 'any', onnxruntime: true },
  '@onnx-forge/nx-plugin': { kind: 'tool', packages: 'any', onnxruntime: false },
  '@onnx-forge/layers': { kind: 'tool', packages: 'any', onnxruntime: false },
  '@onnx-forge/packaging': { kind: 'tool', packages: 'any', onnxruntime: false },
  // An external pass package (made with the pass generator): core only, as ARCHITECTURE.md says of plugins.
  'forge-pass-constant-folding': { kind: 'package', packages: [CORE], onnxruntime: false },
};
