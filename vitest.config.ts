import { defineConfig } from 'vitest/config';
import { faultBinariesProblems, kafkaFaultProblems, requireServices, sharedKafkaProblems, sharedServicesProblems } from './tests/support/required-services.ts';

const SAGA_MODES = ['choreography', 'orchestration'] as const;
/** The suites that start whole systems get one development issuer per run (tokens for their requests). */
const DEV_ISSUER_SETUP = 'tests/support/dev-issuer-setup.ts';

/** The cluster projects of one broker (e2e-cluster[-kafka][-orchestration]), one saga mode at a time from groupOrder on. */
const clusterProjects = (broker: 'nats' | 'kafka', groupOrder: number) =>
  SAGA_MODES.map((mode, index) => ({
    test: {
      name: ['e2e-cluster', ...(broker === 'kafka' ? ['kafka'] : []), ...(mode === 'orchestration' ? ['orchestration'] : [])].join('-'),
      include: ['tests/e2e/**/*.e2e.test.ts'],
      exclude: ['**/node_modules/**', 'tests/e2e/postgres.e2e.test.ts', 'tests/e2e/orchestration.e2e.test.ts'],
      env: { SAGA_MODE: mode, E2E_TARGET: 'cluster', E2E_BROKER: broker },
      globalSetup: [DEV_ISSUER_SETUP],
      testTimeout: 90_000,
      hookTimeout: 90_000,
      fileParallelism: false,
      sequence: { groupOrder: groupOrder + index },
    },
  }));

/**
 * The projects, or none when what they need is missing (problems), with one line naming
 * them and saying why. REQUIRE_SERVICES=1 (CI) finds no problems: they run and fail.
 */
const whenAvailable = <P extends { test: { name: string } }>(problems: string[], projects: P[]): P[] => {
  if (problems.length === 0) return projects;
  console.info(`[orderflow] skipping ${projects.map((p) => p.test.name).join(', ')}: ${problems.join('; ')}; set REQUIRE_SERVICES=1 to fail instead`);
  return [];
};

/** Tests by suffix: *.unit.test.ts (pure), *.int.test.ts (real database / broker), *.e2e.test.ts (whole system), *.fault.test.ts (outages). */
export default defineConfig(async () => {
  // The cluster suites need the shared NATS and PostgreSQL; the fault suites start private
  // ones from the installed binaries. Missing: left out with one line, unless REQUIRE_SERVICES=1.
  const clusterProblems = requireServices ? [] : await sharedServicesProblems();
  const faultProblems = requireServices ? [] : faultBinariesProblems();
  const kafkaClusterProblems = requireServices ? [] : await sharedKafkaProblems();
  const kafkaFaultsProblems = requireServices ? [] : kafkaFaultProblems();
  return {
    test: {
      projects: [
        { test: { name: 'unit', include: ['packages/**/*.unit.test.ts', 'services/**/*.unit.test.ts', 'apps/orderflow/**/*.unit.test.ts'], exclude: ['**/node_modules/**'] } },
        {
          test: {
            name: 'int',
            include: ['packages/**/*.int.test.ts', 'services/**/*.int.test.ts', 'apps/orderflow/**/*.int.test.ts'],
            exclude: ['**/node_modules/**'],
            testTimeout: 30_000,
          },
        },
        ...SAGA_MODES.map((mode) => ({
          test: {
            // The same end-to-end suite in both saga modes: behaviour must not depend on it.
            name: mode === 'choreography' ? 'e2e' : 'e2e-orchestration',
            include: ['tests/e2e/**/*.e2e.test.ts'],
            env: { SAGA_MODE: mode },
            globalSetup: [DEV_ISSUER_SETUP],
            testTimeout: 60_000,
            hookTimeout: 60_000,
            // Each file starts a whole system; one at a time keeps timings honest on 2 cores.
            fileParallelism: false,
          },
        })),
        {
          test: {
            // The same suite against the services spread over two threads, as npm start
            // runs them on a machine with more than one core (choreography: the thread
            // boundary is the broker's, whichever saga mode drives the messages).
            name: 'e2e-threads',
            include: ['tests/e2e/**/*.e2e.test.ts'],
            exclude: ['**/node_modules/**', 'tests/e2e/postgres.e2e.test.ts'],
            env: { SAGA_MODE: 'choreography', E2E_TARGET: 'threads' },
            globalSetup: [DEV_ISSUER_SETUP],
            testTimeout: 60_000,
            hookTimeout: 60_000,
            fileParallelism: false,
          },
        },
        // The same suite again against every service as its own process on NATS and
        // PostgreSQL (npm run start:cluster), after the in-process projects and one mode at
        // a time: each file starts six or seven processes. Left out: postgres.e2e.test.ts
        // runs the embedded system on PostgreSQL, which the cluster always is; and
        // orchestration.e2e.test.ts, whose step timeouts (400 ms, 2 attempts) are tuned for
        // the in-process system: six processes on two cores answer a 60-order burst more
        // slowly than that, and the timeouts then compensate steps that were answered.
        ...whenAvailable(clusterProblems, clusterProjects('nats', 1)),
        // The same again on Kafka: a topic and group prefix of each file's own, deleted at its end.
        ...whenAvailable(kafkaClusterProblems, clusterProjects('kafka', 3)),
        ...whenAvailable(faultProblems, [
          {
            test: {
              // Broker and database restarts, SIGTERM: private servers, so nothing else is disturbed.
              name: 'faults',
              include: ['tests/faults/**/*.fault.test.ts'],
              exclude: ['**/node_modules/**', 'tests/faults/**/*.kafka.fault.test.ts'],
              globalSetup: [DEV_ISSUER_SETUP],
              testTimeout: 180_000,
              hookTimeout: 120_000,
              fileParallelism: false,
              sequence: { groupOrder: 5 },
            },
          },
        ]),
        ...whenAvailable(kafkaFaultsProblems, [
          {
            test: {
              // The same on Kafka: a private broker per file (npm run kafka's launcher, free ports, a temporary folder).
              name: 'faults-kafka',
              include: ['tests/faults/**/*.kafka.fault.test.ts'],
              globalSetup: [DEV_ISSUER_SETUP],
              testTimeout: 240_000,
              hookTimeout: 120_000,
              fileParallelism: false,
              sequence: { groupOrder: 6 },
            },
          },
        ]),
        // The deployment files (compose.yaml, deploy/, Dockerfiles, Makefile) against the schemas and the code; offline.
        { test: { name: 'deploy', include: ['tests/deploy/**/*.unit.test.ts'], testTimeout: 60_000 } },
        {
          test: {
            name: 'browser',
            include: ['tests/browser/**/*.browser.test.ts'],
            // Builds the web UI once (only when missing or stale) before any browser test runs.
            globalSetup: ['tests/browser/global-setup.ts'],
            testTimeout: 120_000,
            hookTimeout: 300_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
