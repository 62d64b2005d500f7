import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BACKEND_SERVICES, SERVICE_PORTS } from './code-facts.ts';
import { K8S_DIR, ROOT, readText, yamlFile } from './deploy-files.ts';

const dockerfile = readText(join(ROOT, 'Dockerfile'));
const webDockerfile = readText(join(ROOT, 'Dockerfile.web'));
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[]; dependencies?: Record<string, string> };

/** Each workspace directory: packages/x, services/y, apps/z. */
const workspaces = rootPackage.workspaces.flatMap((pattern) => {
  const parent = pattern.replace(/\/\*$/, '');
  return readdirSync(join(ROOT, parent))
    .filter((entry) => statSync(join(ROOT, parent, entry)).isDirectory())
    .filter((entry) => {
      try {
        return statSync(join(ROOT, parent, entry, 'package.json')).isFile();
      } catch {
        return false;
      }
    })
    .map((entry) => `${parent}/${entry}`);
});
const packageName = (dir: string) => (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string }).name;
const workspaceFlags = (text: string) => [...text.matchAll(/--workspace=(\S+)/g)].map((m) => m[1]!);
/** The RUN instruction (continuation lines joined) that contains a marker. */
const runWith = (text: string, marker: string) => text.replace(/\\\n\s*/g, ' ').split('\n').find((l) => l.startsWith('RUN') && l.includes(marker)) ?? '';

describe('the images', () => {
  it.each([
    ['Dockerfile', dockerfile],
    ['Dockerfile.web', webDockerfile],
  ])('%s copies every workspace manifest before npm ci, so that the lockfile check passes', (_name, text) => {
    for (const dir of workspaces) expect(text, dir).toContain(`COPY ${dir}/package.json ${dir}/`);
    expect(text).toContain('COPY package.json package-lock.json ./');
    expect(text).toMatch(/RUN .*npm ci\n/);
  });

  it('the services image: type check as the build, production dependencies of the service workspaces and the root (tsx), non-root, health check', () => {
    expect(dockerfile).toMatch(/RUN npx tsc -p tsconfig.json --noEmit/);
    const install = runWith(dockerfile, '--omit=dev');
    expect(install).toContain('--include-workspace-root');
    const serviceWorkspaces = workspaces.filter((d) => d.startsWith('services/') || d.startsWith('packages/')).map(packageName).sort();
    expect(workspaceFlags(install).sort()).toEqual(serviceWorkspaces);
    // tsx runs the TypeScript at run time, so it is a production dependency of the root.
    expect(rootPackage.dependencies?.tsx).toBeDefined();
    expect(dockerfile).toMatch(/CMD .*exec node --import tsx \\"services\/\$\{SERVICE:\?/);
    for (const service of BACKEND_SERVICES) expect(dockerfile, service).toContain(service);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production HOST=0\.0\.0\.0 DATA_DIR=\/data/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "deploy\/docker\/healthcheck\.mjs", "\/ready"\]$/m);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime$/m);
    const exposed = dockerfile.match(/^EXPOSE (.*)$/m)?.[1]?.split(' ').map(Number).sort();
    expect(exposed).toEqual(BACKEND_SERVICES.map((s) => SERVICE_PORTS[s].port).sort());
  });

  it('the web image: next build, production dependencies, next start on FRONTEND_PORT and HOST, non-root, health check', () => {
    expect(webDockerfile).toMatch(/RUN npm run build --workspace=@orderflow\/web/);
    expect(workspaceFlags(runWith(webDockerfile, '--omit=dev')).sort()).toEqual(['@orderflow/contracts', '@orderflow/web']);
    expect(webDockerfile).toMatch(/next start -p \\"\$\{FRONTEND_PORT\}\\" -H \\"\$\{HOST\}\\"/);
    expect(webDockerfile).toContain(`FRONTEND_PORT=${SERVICE_PORTS.web.port}`);
    expect(webDockerfile).toMatch(/^USER 1000:1000$/m);
    expect(webDockerfile).toMatch(/^WORKDIR \/app\/apps\/web$/m);
    expect(webDockerfile).toMatch(/HEALTHCHECK .*"\/app\/deploy\/docker\/healthcheck\.mjs", "\/api\/config"/);
    // The one place next start writes: an emptyDir in Kubernetes, a tmpfs in Compose.
    const frontend = yamlFile(join(K8S_DIR, 'frontend/deployment.yaml')) as { spec: { template: { spec: { containers: { volumeMounts: { mountPath: string }[] }[] } } } };
    expect(frontend.spec.template.spec.containers[0]!.volumeMounts.map((m) => m.mountPath)).toContain('/app/apps/web/.next/cache');
    expect(webDockerfile).toContain('mkdir -p .next/cache && chown 1000:1000 .next/cache');
  });

  it('.dockerignore keeps dependencies, builds, data and tests out of the context', () => {
    const ignored = readText(join(ROOT, '.dockerignore')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/.next', 'data', '.git', 'tests', '**/*.test.ts']));
    // ...but not what the images copy.
    for (const needed of ['deploy/docker', 'config', 'packages', 'services', 'apps']) expect(ignored, needed).not.toContain(needed);
  });

  it('the health check probes the port each service reads, by the same variables as config.ts', async () => {
    const { SERVICE_PORTS: scriptPorts, healthUrl } = (await import(pathToFileURL(join(ROOT, 'deploy/docker/healthcheck.mjs')).href)) as {
      SERVICE_PORTS: unknown;
      healthUrl: (env: Record<string, string>, path?: string) => string;
    };
    expect(scriptPorts).toEqual(SERVICE_PORTS);
    expect(healthUrl({ SERVICE: 'status' })).toBe('http://127.0.0.1:8085/ready');
    expect(healthUrl({ SERVICE: 'order', ORDER_SERVICE_PORT: '9000' }, '/health')).toBe('http://127.0.0.1:9000/health');
    expect(healthUrl({ SERVICE: 'web' })).toBe('http://127.0.0.1:3000/api/config');
    expect(() => healthUrl({})).toThrow(/SERVICE/);
  });

  it('the wait for dependencies reads the broker and database as config.ts does', async () => {
    const { dependenciesOf } = (await import(pathToFileURL(join(ROOT, 'deploy/docker/wait-for-dependencies.mjs')).href)) as {
      dependenciesOf: (env: Record<string, string>) => { name: string; addresses: { host: string; port: number }[] }[];
    };
    expect(dependenciesOf({})).toEqual([]);
    expect(dependenciesOf({ KAFKA_BROKER: 'kafka:9092', DATABASE_URL: 'postgres://u:p@postgres:5432/db' })).toEqual([
      { name: 'kafka', addresses: [{ host: 'kafka', port: 9092 }] },
      { name: 'postgres', addresses: [{ host: 'postgres', port: 5432 }] },
    ]);
    expect(dependenciesOf({ NATS_URL: 'nats://nats:4222', KAFKA_BROKERS: '' })).toEqual([{ name: 'nats', addresses: [{ host: 'nats', port: 4222 }] }]);
    expect(dependenciesOf({ BUS: 'embedded', KAFKA_BROKERS: 'a:1' })).toEqual([]);
  });

  it('the Makefile has document 001\'s targets', () => {
    const makefile = readText(join(ROOT, 'Makefile'));
    for (const target of ['build-local', 'run-local', 'stop-local', 'logs-local', 'test-order', 'test-inventory', 'test-status', 'build-k8s', 'deploy-k8s', 'clean-k8s', 'port-forward', 'open-frontend', 'health-check']) {
      expect(makefile, target).toMatch(new RegExp(`^${target}:`, 'm'));
    }
    expect(makefile).toMatch(/docker build \$\(DOCKER_BUILD_FLAGS\) -t \$\(SERVICE_IMAGE\) -f Dockerfile \./);
    expect(makefile).toMatch(/docker build \$\(DOCKER_BUILD_FLAGS\) -t \$\(WEB_IMAGE\) -f Dockerfile\.web \./);
    expect(makefile).toContain('deploy/k8s/deploy-all.sh $(K8S_TARGET)');
  });
});
