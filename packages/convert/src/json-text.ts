/**
 * UBJSON (XGBoost's default binary format since 2.1, .ubj): an object opens with '{' like JSON, but
 * each key follows a length marker (i, U, I, l, L and its size) instead of a quote.
 */
export function looksLikeUbjson(text: string): boolean {
  return /^\{[iUIlL]/.test(text);
}

/**
 * Why text that JSON.parse refused is no JSON model: binary UBJSON, JSON cut short or damaged (it opens
 * as a JSON object or array does), or something else altogether.
 */
export function jsonFailure(text: string): 'ubjson' | 'damaged' | 'other' {
  const start = text.trimStart();
  if (looksLikeUbjson(start)) return 'ubjson';
  return /^[{[]/.test(start) ? 'damaged' : 'other';
}
