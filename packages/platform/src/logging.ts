import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger } from 'pino';

/**
 * One root logger per process: JSON lines, or readable lines when stdout is a terminal
 * (LOG_FORMAT=auto). Each service logs through a child carrying `service`.
 */
export function createRootLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  return pino({
    level: config.logLevel,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'service', messageFormat: '{if service}[{service}] {end}{msg}' } } }
      : {}),
  });
}
