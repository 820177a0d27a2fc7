export { packedProjects } from './packed-projects.js';
export type { PackedProject } from './packed-projects.js';
export { packTarball } from './pack-tarball.js';
export type { Tarball } from './pack-tarball.js';
export { lintTarball } from './lint-tarball.js';
export { browserBundle, userBrowserBundle } from './browser-bundle.js';
export type { BrowserBundle, NodeImport, UserBundle } from './browser-bundle.js';
