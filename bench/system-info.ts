import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";

export interface SystemInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  node: string;
  loadAverage: string;
}

/** Where and when the numbers were taken: they only compare within one run on one machine. */
export function systemInfo(): SystemInfo {
  let cpuModel = "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // Not Linux.
  }
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel,
    node: process.version,
    loadAverage: loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
  };
}
