import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * The options of a small command (`npm run token`, `npm run rebuild-status`): an unknown or
 * malformed option prints the error and the usage line and exits with 2.
 */
export function parseCommandLine<const Options extends NonNullable<ParseArgsConfig['options']>>(options: Options, usage: string) {
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    process.exit(2);
  }
}
