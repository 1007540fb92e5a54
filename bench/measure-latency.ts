import * as grpc from "@grpc/grpc-js";
import { percentile } from "./percentile.js";
import type { RawClient } from "./raw-client.js";

export interface LatencyResult {
  calls: number;
  ok: number;
  /** First non-OK status seen, for the report. */
  firstError: string | undefined;
  p50Ms: number;
  p99Ms: number;
  callsPerSec: number;
}

/**
 * Latency percentiles from a grpc-js client: `concurrency` loops each issue calls back to
 * back until `calls` are done (plus an unrecorded warm-up). h2load gives no percentiles, so
 * this is where every p50/p99 in the report comes from. The client itself costs ~0.1 ms a
 * call on this class of machine, which the numbers include, for ctmd and baseline alike.
 */
export async function measureLatency(
  client: RawClient,
  path: string,
  body: (i: number) => Uint8Array,
  options: { calls: number; concurrency: number; warmup?: number },
): Promise<LatencyResult> {
  const warmup = options.warmup ?? Math.min(200, options.calls);
  await runLoops(client, path, body, warmup, options.concurrency, () => {});
  const samples = new Float64Array(options.calls);
  let recorded = 0;
  let ok = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  await runLoops(client, path, (i) => body(warmup + i), options.calls, options.concurrency, (ms, code, details) => {
    samples[recorded++] = ms;
    if (code === grpc.status.OK) ok++;
    else firstError ??= `${grpc.status[code]}: ${details}`;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort();
  return {
    calls: recorded,
    ok,
    firstError,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    callsPerSec: recorded / seconds,
  };
}

async function runLoops(
  client: RawClient,
  path: string,
  body: (i: number) => Uint8Array,
  calls: number,
  concurrency: number,
  record: (ms: number, code: grpc.status, details: string) => void,
): Promise<void> {
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (issued < calls) {
      const i = issued++;
      const t0 = process.hrtime.bigint();
      const reply = await client.unary(path, body(i));
      record(Number(process.hrtime.bigint() - t0) / 1e6, reply.code, reply.details);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, loop));
}
