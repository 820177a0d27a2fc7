/** The parts of a package.json the checks read. */
export interface PackageJson {
  readonly name: string;
  readonly private?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly exports?: unknown;
  readonly files?: readonly string[];
}

/** One workspace project: its folder relative to the workspace root ('packages/core') and its package.json. */
export interface Project {
  readonly dir: string;
  readonly packageJson: PackageJson;
}

/**
 * The workspace as the checks see it, in memory so a test can build a broken one: the projects, and
 * every source file as path (relative to the workspace root, '/'-separated) → text.
 */
export interface Workspace {
  readonly projects: readonly Project[];
  readonly files: ReadonlyMap<string, string>;
  /** The root package.json's devDependencies: tools every project's tests and scripts may use (vitest, fast-check, tsx). */
  readonly rootDevDependencies: readonly string[];
}

/** The project holding `file` (the one whose folder is the longest prefix of its path). */
export function projectOf(workspace: Workspace, file: string): Project | undefined {
  let best: Project | undefined;
  for (const p of workspace.projects) {
    if (file.startsWith(`${p.dir}/`) && (best === undefined || p.dir.length > best.dir.length)) best = p;
  }
  return best;
}
