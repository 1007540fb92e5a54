import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ChildProcesses } from "./child-processes.js";
import { RpcLogCounter } from "./rpc-log-counter.js";
import { logLines } from "./wait-for-log-line.js";
import { waitForListeningInFile } from "./wait-for-listening.js";

export interface CtmdHandle {
  child: ChildProcess;
  address: string;
  /** Its Prometheus /metrics address. */
  metrics: string;
  /** Its read workers' pids (`--workers N`). */
  workers: number[];
  dataDir: string;
  /** Server-side tally of the per-RPC log lines. */
  rpcLog: RpcLogCounter;
  logFile: string;
  /** The end of ctmd's stderr and of its log. */
  lastWords(): string;
}

const UNLIMITED_CLIENTS = { CTM_WATCH_STREAMS_PER_CLIENT: "0", CTM_CONNECTIONS_PER_CLIENT: "0" };

/**
 * Starts the built daemon (`daemonEntry`, else $BENCH_CTMD_ENTRY, else dist/src/main.js) with a
 * fresh data dir and default settings, as a user would run it. Its stdout (pino JSON, one line
 * per RPC) goes to a file: the driver never parses it on the hot path, and the tallies come from
 * it afterwards. The limits per client are off: the bench's thousand watchers and its
 * connections all come from this machine's one address, each standing for a client of its own
 * (they go by environment, which a build from before a limit ignores).
 */
export async function startCtmd(children: ChildProcesses, workDir: string, extraArgs: string[] = [], daemonEntry?: string): Promise<CtmdHandle> {
  const entry = resolve(daemonEntry ?? process.env["BENCH_CTMD_ENTRY"] ?? "dist/src/main.js");
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: run \`npm run build\` first (npm run bench does).`);
  }
  const dataDir = join(workDir, "ctmd-data");
  const logFile = join(workDir, "ctmd.log");
  const logFd = openSync(logFile, "w");
  const execArgv = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = children.spawn(process.execPath, [...execArgv, entry, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", dataDir, ...extraArgs], {
    stdio: ["ignore", logFd, "pipe"],
    env: { ...process.env, ...UNLIMITED_CLIENTS },
  });
  closeSync(logFd);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const address = await waitForListeningInFile(child, logFile, "ctmd");
  const lastWords = (): string => {
    let log = "";
    try {
      const fd = openSync(logFile, "r");
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 4000));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      closeSync(fd);
      log = buf.toString("utf8");
    } catch {
      // No log.
    }
    return `${stderr}\n${log.split("\n").slice(-10).join("\n")}`.trim();
  };
  const listening = logLines(logFile).find((l) => l.msg === "listening") as { metrics?: string; workers?: number[] } | undefined;
  return { child, address, metrics: listening?.metrics ?? "", workers: listening?.workers ?? [], dataDir, rpcLog: new RpcLogCounter(logFile), logFile, lastWords };
}
