import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_TOPICS, EVENT_TOPICS, deadLetterTopic } from '@orderflow/contracts';
import { ENVIRONMENT_VARIABLES, SERVICE_PORTS, type ServiceName, createServiceMetrics } from '@orderflow/platform';
import { SERVICES as WEB_SERVICES } from '../../apps/web/lib/services.ts';
import { ROOT, filesUnder, makefileVariables, readText } from './deploy-files.ts';

/** What the code actually uses, read from the code: the deployment files are checked against it. */

export { SERVICE_PORTS };
export type { ServiceName };

/** The backend services: a directory services/<name> with a main.ts, and a port in SERVICE_PORTS. */
export const BACKEND_SERVICES = (Object.keys(SERVICE_PORTS) as ServiceName[]).filter((name) => name !== 'web');

export const servicePort = (name: ServiceName) => SERVICE_PORTS[name].port;

/** Every topic a service provisions: each event and command topic, and the .DLT of each. */
export const TOPICS = [...EVENT_TOPICS, ...COMMAND_TOPICS].flatMap((topic) => [topic, deadLetterTopic(topic)]).sort();

/** The variables the web UI's server reads: its service table, and every process.env.X in apps/web. */
export const WEB_VARIABLES: readonly string[] = (() => {
  const names = new Set<string>(Object.values(WEB_SERVICES).map((s) => s.variable));
  const sources = filesUnder(join(ROOT, 'apps/web'), (f) => /\.(ts|tsx|mjs)$/.test(f) && !/\/(node_modules|\.next)\//.test(f));
  for (const file of sources) for (const match of readText(file).matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) names.add(match[1]!);
  return [...names].sort();
})();

/** The variables the web UI's start command reads (Dockerfile.web: next start -p $FRONTEND_PORT -H $HOST). */
export const WEB_START_VARIABLES = ['FRONTEND_PORT', 'HOST'] as const;

/** Variables the images themselves read: SERVICE picks the service (Dockerfile, deploy/docker/healthcheck.mjs). */
export const IMAGE_VARIABLES = ['SERVICE'] as const;

export const SERVICE_VARIABLES: readonly string[] = ENVIRONMENT_VARIABLES;
export const ALL_VARIABLES = new Set<string>([...SERVICE_VARIABLES, ...WEB_VARIABLES, ...IMAGE_VARIABLES]);

/** The probe routes every service registers (packages/platform/src/http/http-server.ts). */
export const SERVICE_ROUTES = (() => {
  const source = readText(join(ROOT, 'packages/platform/src/http/http-server.ts'));
  return ['/health', '/ready', '/metrics'].filter((path) => source.includes(`'${path}'`));
})();

/** The status service's public routes (services/status/http), first path segment. */
export const STATUS_ROUTE_PREFIXES = (() => {
  const prefixes = new Set<string>();
  for (const file of filesUnder(join(ROOT, 'services/status/http'), (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    for (const match of readText(file).matchAll(/'(\/[a-z]+)(\/[^']*)?'/g)) prefixes.add(match[1]!);
  }
  return prefixes;
})();

/** The web UI's route for a path: app/api/config/route.ts for /api/config. */
export const webRouteExists = (path: string) =>
  existsSync(join(ROOT, 'apps/web/app', path, 'route.ts')) && /export\s+(async\s+)?function\s+GET/.test(readFileSync(join(ROOT, 'apps/web/app', path, 'route.ts'), 'utf8'));

/** Metric names the services export, the default process metrics included. */
export const METRIC_NAMES = (async () => {
  const metrics = createServiceMetrics('deploy-test');
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
})();

/** The images, as the Makefile names them (build-local builds them; compose.yaml and deploy/k8s use them). */
export const IMAGES = (() => {
  const variables = makefileVariables();
  return { service: variables.SERVICE_IMAGE ?? '', web: variables.WEB_IMAGE ?? '', tag: variables.IMAGE_TAG ?? '' };
})();

/**
 * The deployment files run in production mode and leave AUTH_ISSUER for whoever deploys to
 * fill in (the services refuse to start without it): their configuration is checked as it
 * loads once an issuer is named.
 */
export const withIssuer = (env: Record<string, string | undefined>) => ({ ...env, AUTH_ISSUER: env.AUTH_ISSUER || 'https://issuer.example.com/realms/orderflow' });
