import type { ChildProcesses } from "./child-processes.js";
import { reapedChildrenCpuSeconds } from "./cpu-meter.js";

export interface H2loadOptions {
  /** http://host:port/package.Service/Method */
  url: string;
  /** A file holding one gRPC frame (see grpcFrame). */
  frameFile: string;
  connections: number;
  streamsPerConnection: number;
  /** More `name: value` headers. */
  headers?: string[];
  seconds: number;
  warmupSeconds: number;
}

export interface H2loadResult {
  reqPerSec: number;
  /** Requests counted in the measured window (warm-up excluded). */
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  meanMs: number;
  maxMs: number;
  /** h2load's own CPU over its run, in cores (1.0 = one core busy): it shares the machine with the server. */
  cores: number;
  output: string;
}

/**
 * Runs h2load as a gRPC unary load generator (h2c, one thread). h2load counts HTTP 200 as
 * success and gRPC errors are 200s with a grpc-status trailer, so callers must confirm
 * success another way (a sample call, a server-side counter).
 */
export async function runH2load(children: ChildProcesses, o: H2loadOptions): Promise<H2loadResult> {
  const args = [
    "-D", `${o.seconds * 1000}ms`,
    "--warm-up-time", `${o.warmupSeconds * 1000}ms`,
    "-c", String(o.connections),
    "-m", String(o.streamsPerConnection),
    "-t", "1",
    "-H", "content-type: application/grpc",
    "-H", "te: trailers",
    ...(o.headers ?? []).flatMap((h) => ["-H", h]),
    "-d", o.frameFile,
    o.url,
  ];
  // h2load is the only child that exits during its run, so what reaped children used meanwhile is its CPU.
  const cpu0 = reapedChildrenCpuSeconds();
  const t0 = performance.now();
  const child = children.spawn("h2load", args);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // Bounded: h2load stops itself after -D; this only guards against a wedged run.
  const guard = setTimeout(() => child.kill("SIGKILL"), (o.seconds + o.warmupSeconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c) => resolve(c));
  });
  clearTimeout(guard);
  const cores = (reapedChildrenCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const status = /status codes: (\d+) 2xx/.exec(output);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(output);
  if (code !== 0 || !finished || !requests || !status || !time) {
    throw new Error(`h2load ${args.join(" ")} failed (exit ${code}):\n${output}`);
  }
  return {
    reqPerSec: Number(finished[1]),
    done: Number(requests[3]),
    succeeded: Number(requests[4]),
    failed: Number(requests[5]),
    errored: Number(requests[6]),
    timeout: Number(requests[7]),
    status2xx: Number(status[1]),
    meanMs: toMs(time[3]!),
    maxMs: toMs(time[2]!),
    cores,
    output,
  };
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}
