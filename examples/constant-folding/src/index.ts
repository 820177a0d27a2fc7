import { constantFoldingPass } from './constant-folding.js';

export { constantFoldingPass };

/** The passes this package contributes; the onnx-forge CLI registers them with --plugin forge-pass-constant-folding. */
export const passes = [constantFoldingPass];
