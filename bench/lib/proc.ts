/** Reading a process's memory and CPU time, and the machine's CPU time, from Linux /proc. */
import { readFileSync, readdirSync } from 'node:fs';
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
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/**
 * CPU time used so far by `pid`, in seconds, split into user space and the
 * kernel (system calls: on loopback a socket write carries the whole TCP path,
 * the receiver's side included), at 10 ms resolution.
 */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const hz = ticksPerSecond();
  return { user: Number(fields[11]) / hz, system: Number(fields[12]) / hz };
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

/** `pid`'s descriptor limit (soft, hard; Infinity for unlimited) and the descriptors it holds now. */
export function descriptors(pid: number): { soft: number; hard: number; open: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(match?.[1]), hard: value(match?.[2]), open: readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * Raise `pid`'s soft descriptor limit to `n` (and the hard one, if lower) with prlimit(1).
 * Allowed past the hard limit only with CAP_SYS_RESOURCE (root); returns
 * whether the limit is now at least `n`.
 */
export function raiseDescriptorLimit(pid: number, n: number): boolean {
  // Never lower the hard limit: it cannot be raised again without the privilege.
  const hard = descriptors(pid).hard;
  const newHard = hard >= n ? (Number.isFinite(hard) ? String(hard) : 'unlimited') : String(n);
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${newHard}`], { stdio: 'ignore', timeout: 5_000 });
  } catch {
    // no prlimit, or not permitted: the caller reads the limit again
  }
  return descriptors(pid).soft >= n;
}

/**
 * The kernel's listen-queue counters (machine-wide, from /proc/net/netstat):
 * ListenOverflows (a completed handshake found the accept queue full) and
 * ListenDrops (a SYN or ACK to a listener dropped, overflows included).
 */
export function listenCounters(): { overflows: number; drops: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (!lines[i].startsWith('TcpExt:')) continue;
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/).map(Number);
    return { overflows: values[names.indexOf('ListenOverflows')] ?? NaN, drops: values[names.indexOf('ListenDrops')] ?? NaN };
  }
  return { overflows: NaN, drops: NaN };
}

/** The accept-queue bound (the effective listen backlog) of the TCP listener on `port`, from `ss -lnt`; NaN if unknown. */
export function listenBacklog(port: number): number {
  try {
    const out = execFileSync('ss', ['-lntH', `sport = :${port}`], { encoding: 'utf8', timeout: 5_000 });
    // State Recv-Q Send-Q Local Peer: for a listener, Send-Q is the backlog.
    const fields = out.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
    return fields.length >= 3 ? Number(fields[2]) : NaN;
  } catch {
    return NaN;
  }
}
