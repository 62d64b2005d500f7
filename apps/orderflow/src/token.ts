import { loadConfig, requestDevToken } from '@orderflow/platform';
import { parseCommandLine } from './command-line.ts';
import { issuerUrlOf } from './development-issuer.ts';

/**
 * `npm run -s token -- --operator` / `npm run -s token -- --customer alice`: asks the running
 * development issuer (npm start) for a token, as a client would, and prints it alone.
 */
const usage = 'usage: npm run -s token -- --operator | --customer <customer id>';
const values = parseCommandLine({ operator: { type: 'boolean' }, customer: { type: 'string' }, help: { type: 'boolean' } }, usage);
// Exactly one of the two.
if (values.help || (values.operator === true) === (values.customer !== undefined)) {
  process.stderr.write(`${usage}\n`);
  process.exit(values.help ? 0 : 2);
}
const config = loadConfig();
try {
  const token = await requestDevToken(issuerUrlOf(config), values.customer !== undefined ? { role: 'customer', subject: values.customer } : { role: 'operator' });
  process.stdout.write(`${token}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
