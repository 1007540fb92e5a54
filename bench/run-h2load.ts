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
  status3xx: number;
  status4xx: number;
  status5xx: number;
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
export function runH2load(children: ChildProcesses, o: H2loadOptions): Promise<H2loadResult> {
  const headers = ["content-type: application/grpc", "te: trailers", ...(o.headers ?? [])];
  return runH2loadArgs(children, ["-m", String(o.streamsPerConnection), "-c", String(o.connections), ...headers.flatMap((h) => ["-H", h]), "-d", o.frameFile, o.url], o.seconds, o.warmupSeconds);
}

/** One h2load run (one thread) of `seconds` after `warmupSeconds`, with the request's own arguments (protocol, -c, -m, -H, -d, URL). */
export async function runH2loadArgs(children: ChildProcesses, request: string[], seconds: number, warmupSeconds: number): Promise<H2loadResult> {
  const args = ["-D", `${seconds * 1000}ms`, "--warm-up-time", `${warmupSeconds * 1000}ms`, "-t", "1", ...request];
  // h2load is the only child that exits during its run, so what reaped children used meanwhile is its CPU.
  const cpu0 = reapedChildrenCpuSeconds();
  const t0 = performance.now();
  const child = children.spawn("h2load", args);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // Bounded: h2load stops itself after -D; this only guards against a wedged run.
  const guard = setTimeout(() => child.kill("SIGKILL"), (seconds + warmupSeconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c) => resolve(c));
  });
  clearTimeout(guard);
  const cores = (reapedChildrenCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(output);
  if (code !== 0 || !finished || !requests || !status || !time) {
    throw new Error(`h2load ${args.join(" ")} failed (exit ${code}):\n${output}`);
  }
  const n = (m: RegExpExecArray, i: number) => Number(m[i]);
  return {
    reqPerSec: Number(finished[1]),
    done: n(requests, 3),
    succeeded: n(requests, 4),
    failed: n(requests, 5),
    errored: n(requests, 6),
    timeout: n(requests, 7),
    status2xx: n(status, 1),
    status3xx: n(status, 2),
    status4xx: n(status, 3),
    status5xx: n(status, 4),
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
