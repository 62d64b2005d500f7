import { type Config, type DevIssuer, startDevIssuer } from '@orderflow/platform';

/**
 * `npm start` and `npm run start:cluster` in development mode without AUTH_ISSUER: the
 * built-in development issuer, on loopback, its key in the data folder. The services are
 * configured with its URL, so they verify its tokens as they would a real issuer's.
 */
export async function startDevelopmentIssuerIfNeeded(config: Config): Promise<{ config: Config; issuer: DevIssuer | undefined }> {
  if (config.auth.mode !== 'development' || config.auth.issuer) return { config, issuer: undefined };
  const issuer = await startDevIssuer({
    dataDir: config.dataDir,
    host: '127.0.0.1',
    port: config.auth.devIssuerPort,
    audience: config.auth.audience,
    rolesClaim: config.auth.rolesClaim,
    operatorRole: config.auth.operatorRole,
  });
  return { config: { ...config, auth: { ...config.auth, issuer: issuer.url } }, issuer };
}

/** Where tokens come from: AUTH_ISSUER, else the development issuer `npm start` runs. */
export const issuerUrlOf = (config: Config): string => config.auth.issuer ?? `http://127.0.0.1:${config.auth.devIssuerPort}`;

/** The start banner's lines on signing in. */
export function signInHelp(config: Config, issuer: DevIssuer | undefined): string[] {
  if (!issuer) return [`  tokens: from ${config.auth.issuer ?? '(no issuer)'}; operator routes need the role ${config.auth.operatorRole}`];
  return [
    `  tokens: development issuer at ${issuer.url} (key in ${config.dataDir}); operator routes need one:`,
    `    TOKEN=$(npm run -s token -- --operator)        # or: npm run -s token -- --customer alice`,
    `    curl -H "authorization: Bearer $TOKEN" ...`,
  ];
}
