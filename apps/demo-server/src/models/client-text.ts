import { realpathSync } from 'node:fs';
import path from 'node:path';
import { escapeRegExp } from '@onnx-forge/core';

/** Characters of a path: a root preceded by one is part of another path. */
const PATH_CHAR = String.raw`[\w.\-~/\\]`;
/** What may follow a root that ends there (a sentence's full stop may): else it names another folder. */
const CONTINUES = String.raw`[\w\-~/\\]|\.[\w.\-~/\\]`;

/**
 * Rewrites messages for HTTP clients so that they do not reveal where the server keeps its models:
 * paths under the repository become relative to it (`truncated.onnx`, `ranked/2/fp16.onnx`), and the
 * repository's own path becomes `<repository>`. The repository is matched as it was given, resolved
 * and with its links resolved. Server logs and startup errors keep the full paths.
 */
export class PathHider {
  private readonly patterns: readonly { readonly under: RegExp; readonly bare: RegExp }[];

  /** `source`: the repository folder, or a bare .onnx file (its folder is then the one hidden). */
  constructor(source: string, isFile: boolean = /\.onnx$/i.test(source)) {
    const roots = new Set<string>();
    const add = (p: string) => {
      const root = (isFile ? path.dirname(p) : p).replace(/[\\/]+$/, '');
      // A root of '.' or '/' would take every dot or slash with it: paths under it are relative already, or say nothing.
      if (root.length > 1 && root !== '..') roots.add(root);
    };
    add(path.normalize(source));
    add(path.resolve(source));
    try {
      add(realpathSync.native(source));
    } catch {
      // Gone or unreadable: the other two forms remain.
    }
    // Longest first, so that a root inside another (the resolved form of a relative one) is not cut in two.
    this.patterns = [...roots]
      .sort((a, b) => b.length - a.length)
      .map((root) => ({
        under: new RegExp(`(?<!${PATH_CHAR})${escapeRegExp(root)}[\\\\/]+`, 'g'),
        bare: new RegExp(`(?<!${PATH_CHAR})${escapeRegExp(root)}(?!${CONTINUES})`, 'g'),
      }));
  }

  hide(message: string): string {
    let out = message;
    for (const p of this.patterns) out = out.replace(p.under, '').replace(p.bare, '<repository>');
    return out;
  }
}
