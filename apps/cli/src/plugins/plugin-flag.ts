import type { FlagSpec } from '../framework/flag-spec.js';

export const PLUGIN_FLAG: FlagSpec = {
  name: 'plugin',
  kind: 'list',
  valueName: 'PACKAGE',
  description: 'import a pass package (a package name, looked up in node_modules first, or a path to its folder or entry file, relative to the working folder) and register the passes it exports; repeatable',
};
