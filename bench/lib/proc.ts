/** Reading a process's memory and CPU time, and the machine's CPU time, from Linux /proc. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size (VmRSS) of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU time (user + system) used so far by `pid`, in seconds (10 ms resolution). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * The machine's CPU time so far, all cores summed, in seconds: busy, total,
 * and softirq — the kernel's network receive processing, which on loopback
 * is most of the TCP work of the receiving side and is charged to no process.
 */
export function machineCpu(): { busy: number; total: number; softirq: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  const hz = ticksPerSecond();
  return { busy: (total - idle) / hz, total: total / hz, softirq: (v[6] ?? 0) / hz };
}

/** Cores busy between two {@link machineCpu} samples `seconds` apart: all, softirq, and the share of the machine. */
export function machineDelta(
  a: { busy: number; total: number; softirq: number },
  b: { busy: number; total: number; softirq: number },
  seconds: number,
): { busyCores: number; softirqCores: number; busyShare: number } {
  return {
    busyCores: (b.busy - a.busy) / seconds,
    softirqCores: (b.softirq - a.softirq) / seconds,
    busyShare: (b.busy - a.busy) / Math.max(1e-9, b.total - a.total),
  };
}

/** {@link cpuSeconds} of each of `pids`, NaN for one that cannot be read (gone, or not ours to read). */
export function cpuSecondsOf(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    try {
      return cpuSeconds(pid);
    } catch {
      return NaN;
    }
  });
}

/** The command name of `pid` (`/proc/<pid>/comm`), or undefined when it cannot be read. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
