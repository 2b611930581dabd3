import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayEnv } from '@courier/gateway/env';
import { SUBGRAPH_NAMES, SUBGRAPH_PORTS } from '@courier/schema';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { environmentVariables } from './env-inventory.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KUBERNETES = join(ROOT, 'ops/deploy/kubernetes');

/** Read by the code but not by a deployed process, with the reason. */
const NOT_DEPLOYED: Record<string, string> = {
  ATTACHMENTS_PORT: 'embedded mode only (ops/embedded/start.ts)',
  COURIER_DATA_DIR: 'embedded mode only (ops/embedded/start.ts)',
  SHADOW_DATABASE_URL: 'prisma migrate dev only (development)',
  PRISMA_SCHEMA_ENGINE_BINARY: 'set by prisma/prisma.config.ts itself',
  CHECKPOINT_DISABLE: 'set by prisma/prisma.config.ts itself',
};

/** Named in manifests, read by a library rather than our code. */
const READ_BY_LIBRARIES: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AWS SDK (attachments S3 storage)',
  AWS_SECRET_ACCESS_KEY: 'AWS SDK (attachments S3 storage)',
};

interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  workingDir?: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: ({ configMapRef?: { name: string } } & { secretRef?: { name: string } })[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string } };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const files = readdirSync(KUBERNETES).filter((file) => file.endsWith('.yaml'));
const texts = Object.fromEntries(
  files.map((file) => [file, readFileSync(join(KUBERNETES, file), 'utf8')]),
);
const manifests: Manifest[] = files.flatMap((file) =>
  parseAllDocuments(texts[file]!).map((document) => {
    expect(document.errors, file).toEqual([]);
    return document.toJS() as Manifest;
  }),
);
const find = (kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name);
const podSpec = (manifest: Manifest) =>
  (manifest.spec as { template: { spec: { containers: Container[] } } }).template.spec;

/** `NAME: value` lines commented out in a manifest: optional settings. */
const commentedVariables = (text: string) =>
  [...text.matchAll(/^\s*#\s*([A-Z][A-Z0-9_]*):\s+['"]/gm)].map((match) => match[1]!);

const processes = [
  { name: 'gateway', port: 4000, liveness: '/healthcheck', entry: 'gateway/src/index.ts' },
  ...SUBGRAPH_NAMES.map((name) => ({
    name,
    port: SUBGRAPH_PORTS[name],
    liveness: '/health',
    entry: `subgraphs/${name}/src/index.ts`,
  })),
];

describe('Kubernetes manifests', () => {
  it('use the probe paths the processes serve', () => {
    const gatewayProbes = readFileSync(join(ROOT, 'gateway/src/readiness.ts'), 'utf8');
    expect(gatewayProbes).toContain(`READINESS_ENDPOINT = '/readiness'`);
    expect(gatewayProbes).toContain(`HEALTHCHECK_ENDPOINT = '/healthcheck'`);
    const subgraphServer = readFileSync(
      join(ROOT, 'packages/server/src/subgraph-server.ts'),
      'utf8',
    );
    expect(subgraphServer).toContain(`app.get('/health'`);
    expect(subgraphServer).toContain(`app.get('/readiness'`);
  });

  describe.each(processes)('$name', ({ name, port, liveness, entry }) => {
    const deployment = find('Deployment', `courier-${name}`);

    it('has a Deployment with probes, resources and the shared environment', () => {
      expect(deployment, `Deployment courier-${name}`).toBeDefined();
      const [container] = podSpec(deployment!).containers;
      expect(container!.image).toBe('courier:latest');
      expect(container!.command).toEqual(['node', '--import', 'tsx', entry]);
      expect(existsSync(join(ROOT, entry))).toBe(true);
      expect(container!.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(container!.readinessProbe!.httpGet).toEqual({ path: '/readiness', port: 'http' });
      expect(container!.livenessProbe!.httpGet).toEqual({ path: liveness, port: 'http' });
      expect(container!.startupProbe?.httpGet ?? { path: liveness, port: 'http' }).toEqual({
        path: liveness,
        port: 'http',
      });
      expect(container!.resources?.requests?.cpu).toBeTruthy();
      expect(container!.resources?.requests?.memory).toBeTruthy();
      expect(container!.envFrom).toEqual([
        { configMapRef: { name: 'courier-config' } },
        { secretRef: { name: 'courier-secrets' } },
      ]);
      const listenPort =
        name === 'gateway'
          ? find('ConfigMap', 'courier-config')!.data!['GATEWAY_PORT']
          : container!.env?.find((variable) => variable.name === 'PORT')?.value;
      expect(Number(listenPort)).toBe(port);
    });

    it('has a Service on its port and an HPA', () => {
      const labels = (deployment!.spec as { template: { metadata: { labels: object } } }).template
        .metadata.labels;
      const service = find('Service', `courier-${name}`)!;
      expect(service).toBeDefined();
      expect(labels).toMatchObject(service.spec!['selector'] as object);
      expect(service.spec!['ports']).toEqual([{ name: 'http', port, targetPort: 'http' }]);
      const hpa = find('HorizontalPodAutoscaler', `courier-${name}`)!;
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec!['scaleTargetRef']).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `courier-${name}`,
      });
      expect(hpa.spec!['minReplicas']).toBeGreaterThanOrEqual(2);
    });
  });

  it('point the gateway and internal clients at the Services', () => {
    const data = find('ConfigMap', 'courier-config')!.data!;
    for (const name of SUBGRAPH_NAMES) {
      expect(data[`${name.toUpperCase()}_SUBGRAPH_URL`]).toBe(
        `http://courier-${name}:${SUBGRAPH_PORTS[name]}/graphql`,
      );
    }
    for (const [key, value] of Object.entries(data).filter(([key]) =>
      key.endsWith('_INTERNAL_URL'),
    )) {
      const name = key.replace('_INTERNAL_URL', '').toLowerCase() as keyof typeof SUBGRAPH_PORTS;
      expect(value).toBe(`http://courier-${name}:${SUBGRAPH_PORTS[name]}`);
    }
  });

  it('run prisma migrate deploy in a Job', () => {
    const job = find('Job', 'courier-migrate')!;
    const [container] = podSpec(job).containers;
    expect(container!.command!.slice(-2)).toEqual(['migrate', 'deploy']);
    expect(existsSync(join(ROOT, 'prisma', container!.command![1]!))).toBe(true);
    expect(container!.workingDir).toBe('/app/prisma');
  });

  it('name exactly the environment variables the code reads', () => {
    const inventory = environmentVariables(ROOT);
    for (const name of Object.keys(gatewayEnv.shape)) {
      inventory.set(name, [...(inventory.get(name) ?? []), 'gateway/src/env.ts']);
    }
    const read = new Set([...inventory.keys()].filter((name) => !(name in NOT_DEPLOYED)));
    const named = new Set<string>();
    for (const manifest of manifests) {
      for (const key of Object.keys({ ...manifest.data, ...manifest.stringData })) named.add(key);
      if (manifest.kind === 'Deployment' || manifest.kind === 'Job') {
        for (const container of podSpec(manifest).containers) {
          for (const variable of container.env ?? []) named.add(variable.name);
        }
      }
    }
    for (const text of Object.values(texts)) {
      for (const name of commentedVariables(text)) named.add(name);
    }
    const unknown = [...named].filter((name) => !read.has(name) && !(name in READ_BY_LIBRARIES));
    expect.soft(unknown, 'named in ops/deploy/kubernetes but read by no process').toEqual([]);
    const missing = [...read].filter((name) => !named.has(name));
    expect(
      missing.map((name) => `${name} (${inventory.get(name)!.join(', ')})`),
      'read by the code but missing from ops/deploy/kubernetes/config.yaml or secret.example.yaml (add it, commented out when optional)',
    ).toEqual([]);
  });
});

describe('Dockerfile and Procfile', () => {
  it('builds a non-root node:20-bookworm-slim image with npm ci', () => {
    const dockerfile = readFileSync(join(ROOT, 'ops/deploy/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('lists one line per process', () => {
    const lines = readFileSync(join(ROOT, 'ops/deploy/Procfile'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => /^([a-z]+): (.+)$/.exec(line)!);
    const commands = Object.fromEntries(lines.map((match) => [match[1], match[2]]));
    expect(Object.keys(commands).sort()).toEqual(
      ['release', ...processes.map((p) => p.name)].sort(),
    );
    expect(commands['release']).toContain('migrate deploy');
    for (const { name, entry } of processes) {
      expect(commands[name]).toBe(`node --import tsx ${entry}`);
    }
  });
});
