import type { FlagSpec } from '../framework/flag-spec.js';

export const PLUGIN_FLAG: FlagSpec = {
  name: 'plugin',
  kind: 'list',
  valueName: 'PACKAGE',
  description: 'import a pass package (a name from node_modules, or a path) and register the passes it exports; repeatable',
};
