import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@orderflow/platform';
import { describe, expect, it } from 'vitest';
import {
  ALL_VARIABLES,
  BACKEND_SERVICES,
  IMAGES,
  METRIC_NAMES,
  SERVICE_PORTS,
  type ServiceName,
  WEB_START_VARIABLES,
  WEB_VARIABLES,
  servicePort,
  webRouteExists,
  withIssuer,
} from './code-facts.ts';
import { type JsonObject, ROOT, composeDefault, composeFile, isObject, readText, yamlFile } from './deploy-files.ts';

type ComposeService = JsonObject & { image?: string; profiles?: string[]; environment?: Record<string, string | number> };
const compose = composeFile();
const services = compose.services as Record<string, ComposeService>;
const BUS_PROFILES = { kafka: 'kafka', nats: 'nats' } as const;
const PROFILES = ['kafka', 'nats', 'observability', 'orchestration', 'nats-orchestration'];

/** The environment a container gets with nothing set on the host (${VAR:-default} → default). */
const environmentOf = (s: ComposeService) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, composeDefault(String(v))]));
const serviceContainers = Object.entries(services).filter(([, s]) => s.image === IMAGES.service);
const frontends = Object.entries(services).filter(([, s]) => s.image === IMAGES.web);
const busOf = (s: ComposeService) => (s.profiles ?? []).find((p) => p === 'nats' || p === 'nats-orchestration') ? 'nats' : 'kafka';
/** Names a container answers to on the Compose network: its service name and its aliases. */
const hostNames = (name: string) => {
  const networks = services[name]?.networks;
  const aliases = isObject(networks) ? Object.values(networks).flatMap((n) => (isObject(n) && Array.isArray(n.aliases) ? n.aliases.map(String) : [])) : [];
  return [name, ...aliases];
};
const publishedPorts = (s: ComposeService) =>
  ((s.ports ?? []) as string[]).map((p) => {
    const parts = String(p).split(':');
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
const healthTest = (s: ComposeService) => ((s.healthcheck as JsonObject | undefined)?.test ?? []) as string[];

describe('compose.yaml matches the code', () => {
  it('runs every backend service on each broker, and the web UI, from the images the Makefile builds', () => {
    for (const bus of Object.values(BUS_PROFILES)) {
      const running = serviceContainers.filter(([, s]) => busOf(s) === bus).map(([, s]) => String(s.environment?.SERVICE)).sort();
      expect(running, bus).toEqual([...BACKEND_SERVICES].sort());
      expect(frontends.filter(([, s]) => s.profiles?.includes(bus)), bus).toHaveLength(1);
    }
    for (const [, s] of [...serviceContainers, ...frontends]) {
      expect((s.build as JsonObject).dockerfile).toBe(s.image === IMAGES.web ? 'Dockerfile.web' : 'Dockerfile');
    }
  });

  it.each(serviceContainers.map(([name, s]) => [name, s] as const))('%s: port, health check, environment, dependencies', (name, s) => {
    const env = environmentOf(s);
    const service = env.SERVICE as ServiceName;
    expect(service in SERVICE_PORTS, `SERVICE=${service}`).toBe(true);
    expect(name).toBe(busOf(s) === 'kafka' ? `${service}-service` : `${service}-service-nats`);
    if (busOf(s) === 'nats') expect(hostNames(name)).toContain(`${service}-service`);
    expect(publishedPorts(s)).toEqual([{ host: servicePort(service), container: servicePort(service) }]);
    expect(healthTest(s)).toEqual(['CMD', 'node', 'deploy/docker/healthcheck.mjs', '/ready']);

    for (const variable of Object.keys(env)) expect(ALL_VARIABLES.has(variable), `${name}: ${variable} is read by nothing`).toBe(true);
    expect(() => loadConfig(env), 'production mode without AUTH_ISSUER').toThrow(/AUTH_ISSUER: required when AUTH_MODE=production/);
    const config = loadConfig(withIssuer(env));
    expect(config.auth.mode).toBe('production');
    expect(config.host).toBe('0.0.0.0');
    expect(config.ports[service]).toBe(servicePort(service));
    expect((s.tmpfs as string[]) ?? []).toEqual(expect.arrayContaining([config.dataDir, '/tmp']));
    expect(s.read_only).toBe(true);

    // The broker and the database: containers of the same profile, on the ports they listen on, waited for until healthy.
    const dependsOn = s.depends_on as Record<string, { condition: string }>;
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      expect(condition, `${name} → ${dependency}`).toBe('service_healthy');
      expect(services[dependency]?.healthcheck, `${dependency} has no health check`).toBeDefined();
    }
    if (config.bus.kind === 'kafka') {
      expect(busOf(s)).toBe('kafka');
      const [host, port] = config.bus.brokers[0]!.split(':');
      expect(Object.keys(dependsOn)).toContain(host);
      expect(String(environmentOf(services[host!]!).KAFKA_ADVERTISED_LISTENERS)).toContain(`PLAINTEXT://${host}:${port}`);
    } else {
      expect(config.bus.kind).toBe('nats');
      expect(busOf(s)).toBe('nats');
      const url = new URL(config.bus.kind === 'nats' ? config.bus.url.replace(/^nats:/, 'http:') : '');
      expect(Object.keys(dependsOn)).toContain(url.hostname);
      expect(Number(url.port)).toBe(4222);
    }
    const database = new URL(config.database.url!);
    const postgres = environmentOf(services.postgres!);
    expect(Object.keys(dependsOn)).toContain(database.hostname);
    expect([database.username, database.password]).toEqual([postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD]);
    const databaseName = database.pathname.slice(1);
    if (databaseName !== postgres.POSTGRES_DB) {
      expect(readText(join(ROOT, 'deploy/compose/postgres-init.sql'))).toContain(`CREATE DATABASE ${databaseName}`);
    }
    // Traces go to the collector of the observability profile, on its OTLP/HTTP port.
    const otlp = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT!);
    expect(services[otlp.hostname]?.profiles).toEqual(['observability']);
    expect(readText(join(ROOT, 'deploy/compose/otel-collector.yaml'))).toContain(`endpoint: 0.0.0.0:${otlp.port}`);
  });

  it.each(frontends.map(([name, s]) => [name, s] as const))('%s: the services it proxies to, its port and health check', (name, s) => {
    const env = environmentOf(s);
    for (const variable of Object.keys(env)) {
      expect([...WEB_VARIABLES, ...WEB_START_VARIABLES].includes(variable), `${name}: ${variable} is read by nothing`).toBe(true);
    }
    expect(Number(env.FRONTEND_PORT)).toBe(servicePort('web'));
    expect(publishedPorts(s)).toEqual([{ host: servicePort('web'), container: servicePort('web') }]);
    const bus = s.profiles?.[0];
    for (const variable of WEB_VARIABLES.filter((v) => v.endsWith('_SERVICE_URL'))) {
      const url = new URL(env[variable]!);
      const service = variable.replace(/_SERVICE_URL$/, '').toLowerCase() as ServiceName;
      const target = serviceContainers.find(([n, c]) => c.profiles?.includes(bus!) && hostNames(n).includes(url.hostname));
      expect(target?.[1].environment?.SERVICE, `${name}: ${variable}`).toBe(service);
      expect(Number(url.port)).toBe(servicePort(service));
      expect((s.depends_on as Record<string, { condition: string }>)[target![0]]).toEqual({ condition: 'service_healthy' });
    }
    // The browser opens ws://<page host>:<STATUS_SERVICE_URL's port>: the status service is published there.
    const status = serviceContainers.find(([, c]) => c.profiles?.includes(bus!) && c.environment?.SERVICE === 'status')![1];
    expect(publishedPorts(status)[0]?.host).toBe(Number(new URL(env.STATUS_SERVICE_URL!).port));
    expect(healthTest(s)).toEqual(['CMD', 'node', '/app/deploy/docker/healthcheck.mjs', '/api/config']);
    expect(webRouteExists('/api/config')).toBe(true);
    expect(s.tmpfs).toContain('/app/apps/web/.next/cache');
  });

  it('waits for health before starting anything that needs it, and publishes each host port once per broker profile', () => {
    for (const [name, s] of Object.entries(services)) {
      const dependsOn = s.depends_on;
      if (isObject(dependsOn)) {
        for (const [dependency, spec] of Object.entries(dependsOn)) {
          expect((spec as JsonObject).condition, `${name} → ${dependency}`).toBe('service_healthy');
          expect(services[dependency]?.healthcheck, `${dependency} needs a health check`).toBeDefined();
        }
      } else if (dependsOn !== undefined) {
        expect(s.profiles, `${name}: short depends_on only for observability tools`).toEqual(['observability']);
      }
    }
    for (const bus of ['kafka', 'nats']) {
      const active = Object.entries(services).filter(([, s]) => !s.profiles || s.profiles.some((p) => p === bus || p === 'observability' || p === `${bus === 'kafka' ? '' : 'nats-'}orchestration`));
      const hostPorts = active.flatMap(([, s]) => publishedPorts(s).map((p) => p.host));
      expect(new Set(hostPorts).size, `${bus}: ${hostPorts.join(',')}`).toBe(hostPorts.length);
    }
  });

  it('creates no topics itself: Kafka refuses automatic creation and the services provision theirs', () => {
    const kafka = environmentOf(services.kafka!);
    expect(kafka.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(JSON.stringify(compose)).not.toMatch(/kafka-topics\.sh.*--create/);
    expect(environmentOf(services['kafka-ui']!).KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS).toBe('kafka:9092');
    expect(readText(join(ROOT, '.env'))).toMatch(/^COMPOSE_PROFILES=kafka$/m);
  });

  it('lets Prometheus scrape every service\'s /metrics, and the dashboard show only metrics the services export', async () => {
    const prometheus = yamlFile(join(ROOT, 'deploy/compose/prometheus.yml')) as { scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] };
    const [job] = prometheus.scrape_configs;
    expect(job?.metrics_path).toBe('/metrics');
    const targets = job!.static_configs.flatMap((c) => c.targets).sort();
    expect(targets).toEqual(BACKEND_SERVICES.map((s) => `${s}-service:${servicePort(s)}`).sort());
    const names = await METRIC_NAMES;
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/compose/grafana/dashboards/orderflow.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const used = dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\b(orderflow_[a-z0-9_]+)/g)].map((m) => m[1]!));
    expect(used.length).toBeGreaterThan(8);
    for (const metric of used) expect(names.has(metric.replace(/_(bucket|sum|count)$/, '')), metric).toBe(true);
    for (const metric of ['orderflow_orders_by_status', 'orderflow_handler_duration_seconds', 'orderflow_dead_letters_total', 'orderflow_outbox_published_total']) {
      expect(used.some((u) => u.startsWith(metric)), metric).toBe(true);
    }
  });

  it('mounts only files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const volume of (s.volumes ?? []) as string[]) {
        const source = String(volume).split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('passes `docker-compose config --quiet` with every profile (when docker-compose is installed)', () => {
    let version: string;
    try {
      version = execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim();
    } catch {
      console.info('[deploy] docker-compose is not installed: compose.yaml checked by the other tests only');
      return;
    }
    expect(version).toMatch(/^\d+\.\d+/);
    const args = ['-f', join(ROOT, 'compose.yaml'), ...PROFILES.flatMap((p) => ['--profile', p]), 'config', '--quiet'];
    expect(() => execFileSync('docker-compose', args, { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' })).not.toThrow();
    // And as a user runs it: the default profile from .env.
    expect(() => execFileSync('docker-compose', ['-f', join(ROOT, 'compose.yaml'), 'config', '--quiet'], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });
});
