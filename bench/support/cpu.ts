/**
 * CPU time per process, from /proc: where the machine's two cores went during each measured run, and
 * whether somebody else (another engineer's test run) was using them at the same time.
 */
import { readFileSync } from 'node:fs';
import { progress, sleep } from './lifecycle.js';
import { fixed } from './table.js';

const CLOCK_TICKS = 100;
/** CPU seconds other processes may use during a measured run before its figures are called suspect. */
export const NOISE_LIMIT_S = 1;
const IDLE_WAIT_MS = 60_000;

export function cpuSeconds(pid: number): number {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds all processes on the machine ran (all cores), and the hypervisor stole, from /proc/stat. */
function machineSeconds(): { processes: number; steal: number } {
  try {
    const fields =
      readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // user, nice, system: what processes ran (interrupts are not charged to any process); steal: time a
    // virtual machine's CPUs were taken away by the host, which delays everything here.
    const [user = 0, nice = 0, system = 0, , , , , steal = 0] = fields;
    return { processes: (user + nice + system) / CLOCK_TICKS, steal: steal / CLOCK_TICKS };
  } catch {
    return { processes: Number.NaN, steal: Number.NaN };
  }
}

export type CpuMeter = () => Record<string, number>;

/** CPU seconds per named process since the meter was made, plus `other`: everything else on the machine
 * (other people's test runs would show up here and make the figures suspect) and `steal`. */
export function cpuMeter(pids: Record<string, number>): CpuMeter {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const machineBefore = machineSeconds();
  return () => {
    const used = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) - (before[name] ?? 0)]),
    );
    const ours = Object.values(used).reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
    const machine = machineSeconds();
    return {
      ...used,
      other: Math.max(0, machine.processes - machineBefore.processes - ours),
      steal: machine.steal - machineBefore.steal,
    };
  };
}

/** CPU seconds the rest of the machine took during a run (`other` + `steal` of a meter reading). */
export function noiseOf(cpu: Record<string, number>): number {
  return (cpu.other ?? 0) + (cpu.steal ?? 0);
}

/** `a/b/c` of the named readings, one decimal each (`-` for a process that was not there). */
export function cpuColumn(cpu: Record<string, number>, names: string[]): string {
  return names.map((name) => fixed(cpu[name] ?? Number.NaN, 1)).join('/');
}

/**
 * Waits (up to a minute) until the machine is quiet: our processes and everyone else's together under a
 * tenth of a core for a second. Two cores leave no room for a test run next door.
 */
export async function idleMachine(pids: Record<string, number>): Promise<void> {
  const deadline = Date.now() + IDLE_WAIT_MS;
  let announced = false;
  for (;;) {
    const meter = cpuMeter(pids);
    await sleep(1_000);
    const used = Object.values(meter()).reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
    if (used < 0.1) return;
    if (Date.now() > deadline) {
      progress(`  the machine is still busy (${fixed(used, 2)} CPU s per second); measuring anyway`);
      return;
    }
    if (!announced) progress('  waiting for the machine to be idle');
    announced = true;
  }
}

/** The warning line for runs during which the rest of the machine was busy, or undefined. */
export function busyWarning(runs: Array<{ label: string; cpu: Record<string, number> }>): string | undefined {
  const noisy = runs.filter((run) => noiseOf(run.cpu) > NOISE_LIMIT_S);
  if (noisy.length === 0) return undefined;
  return (
    `!!! the machine was busy with other work during ${noisy.map((run) => run.label).join(', ')} ` +
    `(${noisy.map((run) => fixed(noiseOf(run.cpu), 1)).join(', ')} CPU s); those figures are suspect, run again when it is idle`
  );
}
