import { readFileSync } from "node:fs";

/** Linux USER_HZ: the unit of utime/stime in /proc (100 on every mainstream arch). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by a process's main thread (its JavaScript thread, for node):
 * /proc/<pid>/task/<pid>/stat. Worker and libuv threads are left out.
 */
export function mainThreadCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
