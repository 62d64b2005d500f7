import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '@orderflow/platform';

const { dataDir } = loadConfig();
rmSync(resolve(dataDir), { recursive: true, force: true });
process.stdout.write(`removed ${resolve(dataDir)}: the next start begins with an empty log and the catalog's initial stock\n`);
