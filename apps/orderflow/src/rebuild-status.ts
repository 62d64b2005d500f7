import { setTimeout as sleep } from 'node:timers/promises';
import { RebuildProgress } from '@orderflow/contracts';
import { loadConfig, requestDevToken } from '@orderflow/platform';
import { parseCommandLine } from './command-line.ts';
import { issuerUrlOf } from './development-issuer.ts';

/**
 * `npm run rebuild-status`: asks the running status service to rebuild its read model from
 * the whole log (POST /projection/rebuild) and prints the progress until the new copy has
 * taken over. A rebuild already running is followed instead. The operator token comes
 * from ORDERFLOW_TOKEN, or else from the development issuer of `npm start`.
 */
const usage = 'usage: npm run rebuild-status [-- --url <status service URL>]   (token: ORDERFLOW_TOKEN, else the development issuer)';
const values = parseCommandLine({ url: { type: 'string' }, help: { type: 'boolean' } }, usage);
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const config = loadConfig();
const base = (values.url ?? process.env.STATUS_SERVICE_URL ?? `http://127.0.0.1:${config.ports.status}`).replace(/\/$/, '');
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};
try {
  const token = process.env.ORDERFLOW_TOKEN || (await requestDevToken(issuerUrlOf(config), { role: 'operator' }));
  const headers = { authorization: `Bearer ${token}` };
  const started = await fetch(`${base}/projection/rebuild`, { method: 'POST', headers });
  const body: unknown = await started.json();
  if (started.status === 409) process.stdout.write(`a rebuild is running already; following it (${JSON.stringify(body)})\n`);
  else if (started.status !== 202) fail(`POST ${base}/projection/rebuild answered ${started.status}: ${JSON.stringify(body)}`);
  for (;;) {
    const response = await fetch(`${base}/projection/rebuild`, { headers });
    if (!response.ok) fail(`GET ${base}/projection/rebuild answered ${response.status}: ${await response.text()}`);
    const progress = RebuildProgress.parse(await response.json());
    process.stdout.write(`generation ${progress.generation}: ${progress.state}, ${progress.eventsProjected} events projected, ${progress.eventsPerSecond ?? '-'} events/s, ${progress.lag} to go\n`);
    if (progress.state === 'done') break;
    if (progress.state === 'failed') fail(`rebuild failed: ${progress.error ?? 'see the status service log'}`);
    await sleep(1_000);
  }
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)} (is the system running? npm start)`);
}
