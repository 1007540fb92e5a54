import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { percentile } from "./percentile.js";

export interface RpcTally {
  ok: number;
  failed: number;
  /** Status name -> count, failures only. */
  failures: Record<string, number>;
  /** Handler time from the log's durationMs (server side, excludes transport). */
  p50Ms: number;
  p99Ms: number;
}

/**
 * ctmd logs one pino line per RPC ({"method","status","durationMs","msg":"rpc"}) to stdout,
 * which the bench sends to a file. Tallying the lines appended since the last call gives a
 * server-side count of the calls h2load made, and whether they really succeeded.
 */
export class RpcLogCounter {
  private offset = 0;
  private carry = "";

  constructor(private readonly file: string) {}

  /** Skips everything logged so far. */
  mark(): void {
    this.take(() => {});
  }

  tally(method: string): RpcTally {
    const durations: number[] = [];
    const failures: Record<string, number> = {};
    let ok = 0;
    let failed = 0;
    const methodField = `"method":"${method}"`;
    this.take((line) => {
      if (!line.includes('"msg":"rpc"') || !line.includes(methodField)) return;
      const status = /"status":"([A-Z_]+)"/.exec(line)?.[1] ?? "?";
      if (status === "OK") ok++;
      else {
        failed++;
        failures[status] = (failures[status] ?? 0) + 1;
      }
      const duration = /"durationMs":([\d.e+-]+)/.exec(line)?.[1];
      if (duration !== undefined) durations.push(Number(duration));
    });
    durations.sort((a, b) => a - b);
    return { ok, failed, failures, p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99) };
  }

  private take(onLine: (line: string) => void): void {
    const fd = openSync(this.file, "r");
    try {
      const size = fstatSync(fd).size;
      const chunk = Buffer.alloc(1 << 20);
      while (this.offset < size) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const lines = (this.carry + chunk.toString("utf8", 0, n)).split("\n");
        this.carry = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      }
    } finally {
      closeSync(fd);
    }
  }
}
