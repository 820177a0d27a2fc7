import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, for the tests that check the real workspace. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
