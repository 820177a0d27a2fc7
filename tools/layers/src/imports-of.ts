import ts from 'typescript';

/**
 * How a file refers to a module. Under `verbatimModuleSyntax` (tsconfig.base.json) only
 * `import type` / `export type` (and `typeof import('…')` in a type) vanish from the output;
 * `import { type A }` stays as `import {}` and still loads the module, so it is 'static'.
 * `require('…')` is read in CommonJS files (the Nx plugin's generators).
 */
export type ImportKind = 'static' | 'type' | 'dynamic' | 'require';

export interface ImportRef {
  /** The specifier as written ('./x.js', 'node:fs', '@onnx-forge/core/testing'). */
  readonly specifier: string;
  readonly kind: ImportKind;
  /** 1-based line of the import in its file. */
  readonly line: number;
}

const SCRIPT_KIND: Record<string, ts.ScriptKind> = {
  '.ts': ts.ScriptKind.TS,
  '.mts': ts.ScriptKind.TS,
  '.cts': ts.ScriptKind.TS,
  '.js': ts.ScriptKind.JS,
  '.mjs': ts.ScriptKind.JS,
  '.cjs': ts.ScriptKind.JS,
};

/**
 * Every import, re-export, `import()` and `require()` with a literal specifier in one source file,
 * read with TypeScript's parser (so imports written inside template strings, as the Nx generators
 * write files, are not mistaken for imports). Specifiers that are not literals cannot be checked and
 * are left out.
 */
export function importsOf(path: string, source: string): ImportRef[] {
  const ext = /\.[cm]?[jt]s$/.exec(path)?.[0] ?? '.ts';
  const sf = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, SCRIPT_KIND[ext] ?? ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (literal: ts.StringLiteralLike, kind: ImportKind) =>
    refs.push({ specifier: literal.text, kind, line: sf.getLineAndCharacterOfPosition(literal.getStart(sf)).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ? 'type' : 'static');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.isTypeOnly ? 'type' : 'static');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node.moduleReference.expression, node.isTypeOnly ? 'type' : 'require');
    } else if (ts.isCallExpression(node)) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) {
        if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(arg, 'dynamic');
        else if (ts.isIdentifier(node.expression) && node.expression.text === 'require' && node.arguments.length === 1) add(arg, 'require');
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}
