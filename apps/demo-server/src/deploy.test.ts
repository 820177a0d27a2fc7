// deploy/: the Dockerfile and the KServe manifests, checked against what they point at. No container
// is built here (no Docker daemon, and base images would come from a registry this machine cannot
// reach); the checks are the ones a wrong edit breaks: the runtime's command is one the server accepts,
// probes and metrics are where the server serves them, the InferenceService names this runtime and a
// format it supports, and the image installs every workspace before `npm ci`.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseServerArgs } from './run-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const yamlOf = (file: string) => parse(read(file)) as Record<string, unknown>;

type Obj = Record<string, any>;

interface Instruction { op: string; args: string }

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(text: string): Instruction[] {
  return text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const [op = '', ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

describe('deploy/kserve', () => {
  const runtime = yamlOf('deploy/kserve/serving-runtime.yaml') as Obj;
  const service = yamlOf('deploy/kserve/inference-service.yaml') as Obj;
  const container = (runtime.spec?.containers as Obj[] | undefined)?.[0] as Obj;

  it('declares a ServingRuntime for ONNX over the v2 protocol with one kserve-container', () => {
    expect(runtime).toMatchObject({ apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ServingRuntime', metadata: { name: expect.any(String) } });
    expect(runtime.spec.protocolVersions).toEqual(['v2']);
    expect(runtime.spec.supportedModelFormats).toContainEqual(expect.objectContaining({ name: 'onnx', autoSelect: true }));
    expect(runtime.spec.containers).toHaveLength(1);
    expect(container.name).toBe('kserve-container');
    expect(container.image).toMatch(/^[\w./-]+:[\w.-]+$/);
  });

  it("runs a command the server accepts: its entry file exists, models from /mnt/models, the container's port", () => {
    const args = [container.command, ...container.args].flat() as string[];
    expect(args[0]).toBe('node');
    const entry = args.find((a) => a.endsWith('.ts'));
    expect(entry && existsSync(path.join(ROOT, entry)), entry).toBe(true);
    expect(args).toEqual(expect.arrayContaining(['--conditions=@onnx-forge/source', '--import', 'tsx']));
    const serverArgs = args.slice(args.indexOf(entry as string) + 1);
    const parsed = parseServerArgs(serverArgs, {});
    expect(parsed.options.models).toBe('/mnt/models');
    const port = (container.ports as Obj[])[0]?.containerPort;
    expect(parsed.port).toBe(port);
    expect(container.workingDir).toBe('/app');
  });

  it('probes and scrapes where the server answers: /v2/health/ready, /v2/health/live, /metrics on its port', () => {
    const port = (container.ports as Obj[])[0]?.containerPort;
    expect(container.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/v2/health/live', port });
    expect(runtime.spec.annotations).toEqual({ 'prometheus.kserve.io/port': String(port), 'prometheus.kserve.io/path': '/metrics' });
    for (const r of ['requests', 'limits']) expect(Object.keys(container.resources[r]).sort()).toEqual(['cpu', 'memory']);
  });

  it('declares an InferenceService on this runtime, in a format it supports, over v2, with a model to load and room to scale', () => {
    expect(service).toMatchObject({ apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: expect.stringMatching(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/) } });
    const predictor = service.spec.predictor as Obj;
    expect(predictor.model.runtime).toBe(runtime.metadata.name);
    expect((runtime.spec.supportedModelFormats as Obj[]).map((f) => f.name)).toContain(predictor.model.modelFormat.name);
    expect(predictor.model.protocolVersion).toBe('v2');
    expect(predictor.model.storageUri).toMatch(/^(pvc|s3|gs|https?):\/\/.+/);
    expect(predictor.minReplicas).toBeGreaterThanOrEqual(1);
    expect(predictor.maxReplicas).toBeGreaterThan(predictor.minReplicas);
    expect(predictor.scaleMetric).toBe('concurrency');
    // A pod must be able to drain: longer than the server's own grace period (default 30 s).
    expect(predictor.terminationGracePeriodSeconds).toBeGreaterThan(parseServerArgs(['/mnt/models'], {}).graceMs / 1000);
  });
});

describe('deploy/Dockerfile', () => {
  const steps = dockerfile(read('deploy/Dockerfile'));
  const ops = steps.map((s) => s.op);

  it('builds on Node 20, installs with the lock, runs as a non-root user on 8080', () => {
    expect(steps[0]).toMatchObject({ op: 'FROM', args: expect.stringMatching(/^node:20[\w.-]*$/) });
    expect(steps.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args))).toBe(true);
    expect(steps.find((s) => s.op === 'USER')?.args).toBe('node');
    expect(steps.find((s) => s.op === 'EXPOSE')?.args).toBe('8080');
    expect(ops.indexOf('USER')).toBeGreaterThan(ops.lastIndexOf('RUN'));
  });

  it('copies every workspace manifest and .npmrc before npm ci (npm ci fails on a missing workspace)', () => {
    const install = steps.findIndex((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args));
    const copied = steps.slice(0, install).filter((s) => s.op === 'COPY').map((s) => s.args);
    const before = copied.join(' ');
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) expect(before).toContain(f);
    const root = JSON.parse(read('package.json')) as { workspaces: string[] };
    for (const pattern of root.workspaces) {
      const base = pattern.replace(/\/\*$/, '');
      for (const dir of readdirSync(path.join(ROOT, base))) {
        if (!existsSync(path.join(ROOT, base, dir, 'package.json'))) continue;
        const ws = `${base}/${dir}`;
        expect(copied.some((c) => c.split(/\s+/).some((src) => src === `${ws}/package.json` || src.replace(/\/$/, '') === base || src.replace(/\/$/, '') === ws)), `${ws}/package.json is copied before npm ci`).toBe(true);
      }
    }
  });

  it('bundles the page at build time and starts the sample (npm start) by default, its files existing', () => {
    expect(steps.some((s) => s.op === 'RUN' && s.args.includes('npm run build -w @onnx-forge/demo-server'))).toBe(true);
    const cmd = JSON.parse(steps.find((s) => s.op === 'CMD')?.args ?? '[]') as string[];
    const rootStart = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(cmd).toEqual(rootStart);
    expect(existsSync(path.join(ROOT, cmd[cmd.length - 1] as string))).toBe(true);
    expect(read('.dockerignore')).toMatch(/^node_modules$/m);
  });
});
