/** An execution provider as onnxruntime takes it: a name or `{ name, ...providerOptions }`. */
export type ProviderConfig = string | { readonly name: string; readonly [option: string]: unknown };

export function providerName(p: ProviderConfig): string {
  return typeof p === 'string' ? p : p.name;
}
