import type { TensorShapeProto, TensorShapeProto_Dimension } from '../proto/types.js';
import { toClampedNumber } from './int64.js';

/**
 * A dimension as a model declares it: its size (0 included: an empty tensor is a fixed shape), its
 * symbolic name, or null when it has neither. Read by the oneof, since a size of 0 and an unset size
 * look alike to a test of the value.
 */
export function declaredDim(d: TensorShapeProto_Dimension): number | string | null {
  if (d.value === 'dimValue' && d.dimValue !== null && d.dimValue !== undefined) return toClampedNumber(d.dimValue);
  return d.dimParam ? d.dimParam : null;
}

/** Every dimension of a shape as declaredDim reads it; null when the shape (its rank too) is unknown. */
export function declaredDims(shape: TensorShapeProto | null | undefined): (number | string | null)[] | null {
  return shape ? shape.dim.map(declaredDim) : null;
}
