import { join } from 'node:path';
import { stageError } from '../measure/stage-error.js';
import type { ManifestTensor } from '../repository/manifest.js';
import { readManifest } from '../repository/read-repository.js';
import { listVersions } from '../repository/version-stager.js';
import type { OptimizeResult } from './optimize-result.js';

const short = (sha: string) => (sha ? `sha256 ${sha.slice(0, 12)}` : 'no hash');
const signature = (t: readonly ManifestTensor[]) => t.map((x) => `${x.name}: ${x.type}`).join(', ');

/**
 * What the repository already holds under `name`, against the model this run adds: nothing to say when
 * there is no earlier version or it came from the same source (the same bytes); a warning when it came
 * from other bytes with the same inputs and outputs (retrained weights are a new version; two different
 * models under one name are a mistake the user must see); a refusal when the inputs or outputs differ,
 * since whoever serves or calls that name would get a model that takes or gives something else.
 */
export async function previousVersion(repository: string, name: string, r: OptimizeResult): Promise<{ warning?: string; refuse?: string }> {
  const versions = await listVersions(join(repository, name));
  const last = versions[versions.length - 1];
  if (last === undefined) return {};
  let m;
  try {
    m = await readManifest(repository, name, last);
  } catch (e) {
    return { warning: `the repository's model "${name}" version ${last} has no readable manifest (${stageError('read', e).message}); this run adds version ${last + 1} beside it without checking that it is the same model` };
  }
  if (m.source.sha256 && m.source.sha256 === r.source.sha256) return {};
  const before = `version ${last} of "${name}" came from ${m.source.file ?? 'a model in memory'} (${short(m.source.sha256)})`;
  const now = `${r.source.file ?? 'a model in memory'} (${short(r.source.sha256)})`;
  const ins = signature(m.inputs) !== signature(r.graph.inputs);
  const outs = signature(m.outputs) !== signature(r.graph.outputs);
  if (ins || outs) {
    const what = [ins ? `inputs ${signature(m.inputs) || 'none'} there, ${signature(r.graph.inputs) || 'none'} here` : '', outs ? `outputs ${signature(m.outputs) || 'none'} there, ${signature(r.graph.outputs) || 'none'} here` : ''].filter(Boolean).join('; ');
    return {
      refuse: `${before}, a model with other inputs or outputs than ${now} (${what}): adding it as version ${last + 1} would change what clients of "${name}" send and get. ` +
        'Give it a name of its own (--name), or force it (--force) if it really replaces that model',
      warning: `${before}, a model with other inputs or outputs than ${now} (${what}); added as version ${last + 1} as forced`,
    };
  }
  return { warning: `${before}; this run adds version ${last + 1} from a different model file, ${now}. If it is not a new version of the same model, give it a name of its own (--name)` };
}
