import { ForgeError, ForgeErrorCode, canonicalDomain, isDefaultDomain, knownOps, type Model, type PassContext } from '@onnx-forge/core';

/**
 * Checks of list options against the model a pass runs on: an op type that is neither an operator of
 * a known domain nor an op of the model, or a node name the model does not have, is a usage error
 * naming the offender (a typo would otherwise be ignored and change nothing). A known op type the
 * model does not use is no error, since one pipeline serves many models, but it changes nothing on
 * this one: the pass warns.
 */

/** `Op` (default domain) or `domain:Op`, as op lists spell them. */
function splitEntry(entry: string): { domain: string; op: string } {
  const i = entry.lastIndexOf(':');
  return i < 0 ? { domain: '', op: entry } : { domain: entry.slice(0, i), op: entry.slice(i + 1) };
}

const norm = (d: string) => (isDefaultDomain(d) ? '' : canonicalDomain(d));

/**
 * Checks an op-type list option (`blockOps`): throws FORGE_INVALID_OPTIONS for entries that are no
 * operator of a known domain nor an op of the model, and warns through `ctx` (the pass context) about
 * known op types the model does not use, which change nothing here. Returns those absent entries.
 */
export function checkOpList(model: Model, pass: string, option: string, list: readonly string[], ctx?: Pick<PassContext, 'warn'>): string[] {
  if (!list.length) return [];
  const inModel = new Set<string>();
  for (const { node } of model.allNodes()) inModel.add(`${norm(node.domain)}:${node.opType}`);
  const absent: string[] = [];
  const unknown = list.filter((entry) => {
    const { domain, op } = splitEntry(entry);
    const d = norm(domain);
    if (inModel.has(`${d}:${op}`)) return false;
    if (!knownOps(d).includes(op)) return true;
    absent.push(entry);
    return false;
  });
  if (unknown.length) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `pass "${pass}": option "${option}" names ${quoted(unknown)}, which ${unknown.length === 1 ? 'is' : 'are'} neither an operator of a known domain nor an op of this model (write other domains as domain:Op)`, {
      details: { pass, option, unknown },
    });
  }
  if (absent.length) {
    // The CLI prefixes warnings with the pass name.
    ctx?.warn(`option "${option}" names ${absent.length === 1 ? 'op type' : 'op types'} ${quoted(absent)}, which this model does not use (no node has ${absent.length === 1 ? 'it' : 'them'}); ${absent.length === 1 ? 'it changes' : 'they change'} nothing here`);
  }
  return absent;
}

const quoted = (list: readonly string[]) => list.map((u) => `"${u}"`).join(', ');

export function checkNodeList(model: Model, pass: string, option: string, list: readonly string[]): void {
  if (!list.length) return;
  const names = new Set<string>();
  for (const { node } of model.allNodes()) if (node.name) names.add(node.name);
  const unknown = list.filter((n) => !names.has(n));
  if (unknown.length) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `pass "${pass}": option "${option}" names ${unknown.map((u) => `"${u}"`).join(', ')}, which ${unknown.length === 1 ? 'is no node' : 'are no nodes'} of this model (inspect --json lists node names)`, {
      details: { pass, option, unknown },
    });
  }
}

/** A check for definePass: entries two list options share (the pass cannot both block and include a node). */
export function contradiction(a: string, aList: readonly string[], b: string, bList: readonly string[]): string | undefined {
  const both = aList.filter((x) => bList.includes(x));
  return both.length ? `"${a}" and "${b}" both name ${both.map((x) => `"${x}"`).join(', ')}; an entry can be in one of them` : undefined;
}
