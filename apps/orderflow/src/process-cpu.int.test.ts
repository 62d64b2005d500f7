import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watchCpu } from './process-cpu.ts';

/** A child that spins until it has used argv[1] ms of CPU, reports what it used over IPC, and exits. */
const SPINNER = `
const cpuMs = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
while (cpuMs() < Number(process.argv[1])) {}
process.send({ cpuMs: cpuMs() }, () => process.exit(0));
`;

async function spin(ms: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', SPINNER, String(ms)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const reported = await new Promise<number>((resolve) => child.once('message', (message: { cpuMs: number }) => resolve(message.cpuMs)));
  await exited;
  return reported;
}

describe('watchCpu', () => {
  it('counts a child that starts and ends inside the window (through its parent once reaped)', async () => {
    const cpu = watchCpu({ broker: 'embedded' });
    const childMs = await spin(300);
    const totals = cpu.milliseconds();
    // /proc counts in 10 ms clock ticks: a few ticks of slack.
    expect(childMs).toBeGreaterThanOrEqual(300);
    expect(totals.startedProcesses).toBeGreaterThanOrEqual(childMs - 30);
    expect(totals.broker).toBe(0);
    expect(totals.postgres).toBe(0);
  });
});
