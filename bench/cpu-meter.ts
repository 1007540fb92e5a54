import { readFileSync } from "node:fs";

/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream arch). */
const TICKS_PER_SECOND = 100;

/** CPU seconds `pid` has used so far (user + system); NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this process's children that have exited and been reaped (cutime + cstime). */
export function reapedChildrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/**
 * CPU used by one process over an interval, as a share of one core (1.0 = one core busy):
 * says whether a server was CPU-bound during a measurement, or waiting (on fsync, say).
 */
export class CpuMeter {
  private cpu0: number;
  private t0: bigint;

  constructor(private readonly pid: number | undefined) {
    this.cpu0 = pid === undefined ? Number.NaN : cpuSeconds(pid);
    this.t0 = process.hrtime.bigint();
  }

  cores(): number {
    if (this.pid === undefined) return Number.NaN;
    const wall = Number(process.hrtime.bigint() - this.t0) / 1e9;
    return (cpuSeconds(this.pid) - this.cpu0) / wall;
  }
}

/**
 * Waits until every process in `pids` has used under 5% of a core over half a second, or
 * `maxMs` has passed: after a bulk load, LevelDB and etcd compact in background threads, and a
 * measurement taken meanwhile shares the cores with them.
 */
export async function quiet(pids: number[], maxMs = 60_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const meters = pids.map((pid) => new CpuMeter(pid));
    await new Promise((r) => setTimeout(r, 500));
    if (meters.every((m) => !(m.cores() >= 0.05))) return;
  }
}
