import { startDevIssuer } from '@orderflow/platform';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The development issuer every test system of this run trusts (AUTH_ISSUER). */
    devIssuerUrl: string;
  }
}

/**
 * One development issuer for a whole test run, in the main process: every system a test
 * starts (in-process, threads or a cluster of processes) verifies its tokens, and the
 * suites get tokens from it over HTTP, as any client of a real issuer would.
 */
export default async function setup(project: TestProject) {
  const issuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
  project.provide('devIssuerUrl', issuer.url);
  return () => issuer.stop();
}
