import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@orderflow/platform';
import { describe, expect, it } from 'vitest';
import {
  ALL_VARIABLES,
  BACKEND_SERVICES,
  IMAGES,
  STATUS_ROUTE_PREFIXES,
  SERVICE_PORTS,
  SERVICE_ROUTES,
  type ServiceName,
  TOPICS,
  WEB_VARIABLES,
  servicePort,
  webRouteExists,
  withIssuer,
} from './code-facts.ts';
import {
  type JsonObject,
  type K8sObject,
  K8S_DIR,
  ROOT,
  isObject,
  makefileVariables,
  readText,
  renderKustomization,
  renderOverlay,
  yamlFile,
} from './deploy-files.ts';

/** The base as kubectl would apply it; every overlay only adds to it. */
const base = renderKustomization(join(K8S_DIR, 'base'));
type Container = JsonObject & { name: string; image: string };
type Workload = K8sObject & { metadata: { name: string; namespace?: string }; spec: JsonObject };

const ofKind = <T = Workload>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = ofKind(objects, kind).find((o) => (o as Workload).metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found as Workload;
};
const podSpec = (w: Workload) => (w.spec.template as JsonObject).spec as JsonObject;
const podLabels = (w: Workload) => ((w.spec.template as JsonObject).metadata as JsonObject).labels as Record<string, string>;
const containersOf = (w: Workload) => podSpec(w).containers as Container[];
const initContainersOf = (w: Workload) => (podSpec(w).initContainers ?? []) as Container[];
const workloads = [...ofKind(base, 'Deployment'), ...ofKind(base, 'StatefulSet')];
const orderflowWorkloads = workloads.filter((w) => containersOf(w).some((c) => c.image.startsWith('orderflow/')));

const configMap = (name: string) => named(base, 'ConfigMap', name) as unknown as { data: Record<string, string> };
const secret = (name: string) => named(base, 'Secret', name) as unknown as { stringData: Record<string, string> };

/** The environment a container gets, as the kubelet assembles it from env and envFrom. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as JsonObject[]) {
    if (isObject(from.configMapRef)) Object.assign(env, configMap(String(from.configMapRef.name)).data);
    if (isObject(from.secretRef)) Object.assign(env, secret(String(from.secretRef.name)).stringData);
  }
  for (const variable of (container.env ?? []) as JsonObject[]) {
    const name = String(variable.name);
    const from = variable.valueFrom as JsonObject | undefined;
    if (variable.value !== undefined) env[name] = String(variable.value);
    else if (from && isObject(from.secretKeyRef)) {
      const value = secret(String(from.secretKeyRef.name)).stringData[String(from.secretKeyRef.key)];
      if (value === undefined) throw new Error(`${container.name}: ${name} refers to a missing secret key ${String(from.secretKeyRef.key)}`);
      env[name] = value;
    } else if (from && isObject(from.configMapKeyRef)) {
      const value = configMap(String(from.configMapKeyRef.name)).data[String(from.configMapKeyRef.key)];
      if (value === undefined) throw new Error(`${container.name}: ${name} refers to a missing config key ${String(from.configMapKeyRef.key)}`);
      env[name] = value;
    }
  }
  return env;
}

/** The variable names a container sets (env, and every key of what envFrom brings in). */
const variableNamesOf = (container: Container) => Object.keys(environmentOf(container));

const probePath = (container: Container, probe: string) => ((container[probe] as JsonObject | undefined)?.httpGet as JsonObject | undefined)?.path;
const containerPortOf = (container: Container, name: string) =>
  ((container.ports ?? []) as JsonObject[]).find((p) => p.name === name)?.containerPort as number | undefined;

const serviceNameOfWorkload = (w: Workload): ServiceName => {
  const container = containersOf(w)[0]!;
  if (container.image === IMAGES.web) return 'web';
  const service = environmentOf(container).SERVICE;
  if (!service || !(service in SERVICE_PORTS)) throw new Error(`${w.metadata.name}: SERVICE=${String(service)} is not a service`);
  return service as ServiceName;
};

describe('Kubernetes manifests match the code', () => {
  it('run every backend service and the web UI, each from the image the Makefile builds', () => {
    expect(IMAGES.service).toBe(`orderflow/service:${IMAGES.tag}`);
    expect(IMAGES.web).toBe(`orderflow/web:${IMAGES.tag}`);
    const deployed = orderflowWorkloads.map(serviceNameOfWorkload).sort();
    expect(deployed).toEqual([...BACKEND_SERVICES, 'web'].sort());
    for (const w of orderflowWorkloads) {
      for (const c of [...containersOf(w), ...initContainersOf(w)]) expect([IMAGES.service, IMAGES.web], `${w.metadata.name}/${c.name}`).toContain(c.image);
    }
  });

  it.each(orderflowWorkloads.map((w) => [w.metadata.name, w] as const))('%s: name, port, probes and environment', (_name, w) => {
    const service = serviceNameOfWorkload(w);
    const [container] = containersOf(w);
    expect(containersOf(w)).toHaveLength(1);
    expect(w.metadata.name).toBe(service === 'web' ? 'frontend' : `${service}-service`);
    expect(containerPortOf(container!, 'http')).toBe(servicePort(service));

    // Probes on the routes the code serves, on the container's port.
    if (service === 'web') {
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        expect(probePath(container!, probe), probe).toBe('/api/config');
      }
      expect(webRouteExists('/api/config')).toBe(true);
    } else {
      expect(probePath(container!, 'readinessProbe')).toBe('/ready');
      expect(probePath(container!, 'livenessProbe')).toBe('/health');
      expect(probePath(container!, 'startupProbe')).toBe('/health');
      expect(SERVICE_ROUTES).toEqual(expect.arrayContaining(['/health', '/ready']));
    }
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const port = ((container![probe] as JsonObject | undefined)?.httpGet as JsonObject | undefined)?.port;
      if (port !== undefined) expect(port, probe).toBe('http');
    }

    // Every variable is one the code reads; the values load as the service's configuration.
    const env = environmentOf(container!);
    for (const name of variableNamesOf(container!)) expect(ALL_VARIABLES.has(name), `${w.metadata.name}: ${name} is read by nothing`).toBe(true);
    const config = loadConfig(withIssuer(env));
    expect(config.host).toBe('0.0.0.0');
    if (service === 'web') {
      expect(Number(env.FRONTEND_PORT ?? servicePort('web'))).toBe(servicePort('web'));
    } else {
      expect(config.ports[service]).toBe(servicePort(service));
      expect(config.bus.kind).toBe('kafka');
      expect(config.database.url).toBeDefined();
      const mounts = (container!.volumeMounts ?? []) as JsonObject[];
      expect(mounts.map((m) => m.mountPath)).toEqual(expect.arrayContaining([config.dataDir, '/tmp']));
      // The wait for Kafka and PostgreSQL: the same image, the script the image carries.
      const [wait] = initContainersOf(w);
      expect(wait?.image).toBe(IMAGES.service);
      expect(wait?.command).toEqual(['node', 'deploy/docker/wait-for-dependencies.mjs']);
      expect(existsSync(join(ROOT, 'deploy/docker/wait-for-dependencies.mjs'))).toBe(true);
      expect(existsSync(join(ROOT, 'services', service, 'main.ts'))).toBe(true);
    }
  });

  it('pass the web UI every service address it reads, each a Service on the port the code uses', () => {
    const env = environmentOf(containersOf(named(base, 'Deployment', 'frontend'))[0]!);
    for (const variable of WEB_VARIABLES.filter((v) => v.endsWith('_SERVICE_URL'))) {
      const value = env[variable];
      expect(value, variable).toBeDefined();
      const url = new URL(value!);
      const service = variable.replace(/_SERVICE_URL$/, '').toLowerCase() as ServiceName;
      expect(url.hostname).toBe(`${service}-service`);
      expect(Number(url.port)).toBe(servicePort(service));
      const k8sService = named(base, 'Service', url.hostname);
      expect(((k8sService.spec.ports as JsonObject[])[0]!).port).toBe(servicePort(service));
    }
  });

  it('point the services at the Strimzi bootstrap service and the PostgreSQL Service with the Secret\'s credentials', () => {
    const kafka = named(base, 'Kafka', 'orderflow');
    const listener = (((kafka.spec.kafka as JsonObject).listeners as JsonObject[]) ?? []).find((l) => l.tls === false && l.type === 'internal');
    const env = environmentOf(containersOf(named(base, 'Deployment', 'order-service'))[0]!);
    expect(() => loadConfig(env), 'production mode without AUTH_ISSUER').toThrow(/AUTH_ISSUER: required when AUTH_MODE=production/);
    const config = loadConfig(withIssuer(env));
    expect(config.auth.mode).toBe('production');
    expect(config.bus.kind === 'kafka' && config.bus.brokers).toEqual([`${kafka.metadata.name}-kafka-bootstrap:${String(listener?.port)}`]);
    const database = new URL(env.DATABASE_URL!);
    const credentials = secret('orderflow-secrets').stringData;
    const postgres = named(base, 'Service', 'postgres');
    expect(database.hostname).toBe(postgres.metadata.name);
    expect(Number(database.port)).toBe(((postgres.spec.ports as JsonObject[])[0]!).port);
    expect(decodeURIComponent(database.username)).toBe(credentials.POSTGRES_USER);
    expect(decodeURIComponent(database.password)).toBe(credentials.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${credentials.POSTGRES_DB}`);
  });

  it('declare a KafkaTopic for every topic and dead-letter topic the services provision, with the same settings', () => {
    const topics = ofKind<Workload>(base, 'KafkaTopic');
    const config = loadConfig(withIssuer(configMap('orderflow-config').data));
    expect(topics.map((t) => String(t.spec.topicName)).sort()).toEqual(TOPICS);
    for (const topic of topics) {
      expect(topic.spec.partitions, String(topic.spec.topicName)).toBe(config.partitions);
      expect(topic.spec.replicas).toBe(config.bus.kind === 'kafka' ? config.bus.replicationFactor : undefined);
      // As kafka-bus.ts creates them: BROKER_RETENTION, unset: the log is kept forever.
      expect((topic.spec.config as JsonObject)['retention.ms']).toBe(config.retention.brokerMs ?? -1);
      expect((topic.metadata as JsonObject).labels).toMatchObject({ 'strimzi.io/cluster': 'orderflow' });
    }
    expect(readText(join(ROOT, 'packages/platform/src/bus/kafka-bus.ts'))).toMatch(/name: 'retention\.ms', value: String\(options\.retentionMs \?\? -1\)/);
    const pool = named(base, 'KafkaNodePool', 'dual-role');
    expect((pool.metadata as JsonObject).labels).toMatchObject({ 'strimzi.io/cluster': 'orderflow' });
    expect(pool.spec.replicas).toBe(1);
    expect(pool.spec.roles).toEqual(['controller', 'broker']);
  });

  it('connect every Service to pods that serve its target port', () => {
    for (const service of ofKind(base, 'Service')) {
      const selector = service.spec.selector as Record<string, string>;
      const targets = workloads.filter((w) => Object.entries(selector).every(([k, v]) => podLabels(w)[k] === v));
      expect(targets.map((w) => w.metadata.name), service.metadata.name).toHaveLength(1);
      for (const port of service.spec.ports as JsonObject[]) {
        const containerPort = containersOf(targets[0]!).map((c) => containerPortOf(c, String(port.targetPort))).find((p) => p !== undefined);
        expect(containerPort, `${service.metadata.name} ${String(port.targetPort)}`).toBe(port.port);
      }
    }
  });

  it.each(workloads.map((w) => [w.metadata.name, w] as const))('%s: non-root, read-only, no privilege escalation, resources bounded', (_name, w) => {
    const pod = podSpec(w);
    expect((pod.securityContext as JsonObject).runAsNonRoot).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [...containersOf(w), ...initContainersOf(w)]) {
      const sc = c.securityContext as JsonObject;
      expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
      expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
      expect((sc.capabilities as JsonObject).drop).toEqual(['ALL']);
      const resources = c.resources as { requests: JsonObject; limits: JsonObject };
      for (const kind of ['requests', 'limits'] as const) expect(Object.keys(resources[kind]).sort(), `${c.name} ${kind}`).toEqual(['cpu', 'memory']);
    }
    if (w.kind === 'Deployment') {
      expect(podSpec(w).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
    }
  });

  it('reach the web UI and the status service from outside: NodePort on kind/minikube, where kind maps the ports the UI expects', () => {
    const local = renderOverlay('local');
    const nodePorts: Record<string, number> = {};
    for (const name of ['frontend', 'status-service']) {
      const service = named(local, 'Service', name);
      expect(service.spec.type, name).toBe('NodePort');
      nodePorts[name] = Number(((service.spec.ports as JsonObject[])[0]!).nodePort);
    }
    const kind = yamlFile(join(K8S_DIR, 'overlays/local/kind-cluster.yaml')) as { nodes: { extraPortMappings: JsonObject[] }[] };
    const mappings = kind.nodes.flatMap((n) => n.extraPortMappings);
    // The browser loads the UI from localhost:3000 and opens ws://localhost:<STATUS_SERVICE_URL's port>.
    expect(mappings).toContainEqual(expect.objectContaining({ containerPort: nodePorts.frontend, hostPort: servicePort('web') }));
    expect(mappings).toContainEqual(expect.objectContaining({ containerPort: nodePorts['status-service'], hostPort: servicePort('status') }));
    expect(readText(join(K8S_DIR, 'deploy-all.sh'))).toContain(`STATUS_PUBLIC_URL=ws://$(minikube ip):${nodePorts['status-service']}`);
  });

  it('reach them by Ingress on EKS: each path to a Service and port that exist, the status paths to routes the status service has', () => {
    const eks = renderOverlay('eks');
    const [ingress] = ofKind(eks, 'Ingress');
    const paths = ((ingress!.spec.rules as JsonObject[])[0]!.http as JsonObject).paths as JsonObject[];
    for (const path of paths) {
      const backend = (path.backend as JsonObject).service as JsonObject;
      const service = named(eks, 'Service', String(backend.name));
      expect(((service.spec.ports as JsonObject[])[0]!).port).toBe((backend.port as JsonObject).number);
      if (backend.name === 'status-service') expect(STATUS_ROUTE_PREFIXES.has(String(path.path)), String(path.path)).toBe(true);
    }
    expect(paths.at(-1)).toMatchObject({ path: '/', backend: { service: { name: 'frontend' } } });
    // The load balancer checks the pods where the probes do.
    for (const [name, path] of [['status-service', '/health'], ['frontend', '/api/config']] as const) {
      expect((named(eks, 'Service', name).metadata as JsonObject).annotations).toMatchObject({ 'alb.ingress.kubernetes.io/healthcheck-path': path });
    }
    const storageClass = ofKind(eks, 'StorageClass')[0]!;
    expect(((named(eks, 'KafkaNodePool', 'dual-role').spec.storage as JsonObject).volumes as JsonObject[])[0]!.class).toBe(storageClass.metadata.name);
  });

  it('deploy-all.sh rewrites the images the manifests name, and waits for every Deployment', () => {
    const script = readText(join(K8S_DIR, 'deploy-all.sh'));
    expect(script).toContain(`s#image: ${IMAGES.service}#`);
    expect(script).toContain(`s#image: ${IMAGES.web}#`);
    const listed = script.match(/DEPLOYMENTS=\(([^)]*)\)/)?.[1]?.trim().split(/\s+/).sort();
    expect(listed).toEqual(ofKind(base, 'Deployment').map((d) => d.metadata.name).sort());
    expect(script).toContain(`IMAGE_TAG=\${IMAGE_TAG:-${IMAGES.tag}}`);
  });

  it('the Makefile forwards each Service on its own port', () => {
    const recipe = readText(join(ROOT, 'Makefile'));
    const pairs = [...(recipe.match(/for pair in ([^;]*);/)?.[1] ?? '').matchAll(/([a-z-]+):(\d+)/g)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(pairs.length).toBeGreaterThan(6);
    for (const [name, port] of pairs) expect(((named(base, 'Service', name).spec.ports as JsonObject[])[0]!).port, name).toBe(port);
    expect(makefileVariables().K8S_NAMESPACE).toBe((named(base, 'Namespace', 'orderflow').metadata as JsonObject).name);
  });
});
