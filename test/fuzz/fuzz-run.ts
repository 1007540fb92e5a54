import fc from "fast-check";
import * as grpc from "@grpc/grpc-js";
import type { DescMethod } from "@bufbuild/protobuf";
import { protoRegistry } from "../../src/transport/grpc/proto-registry.js";
import { Daemon } from "../helpers/daemon.js";
import { metricsAddress } from "../helpers/safety-clients.js";
import { decodeMessage, encodeMessage } from "./proto-es.js";
import { RawClient } from "./raw-client.js";
import { requestBytes } from "./request-arbitrary.js";

/** Every service ctmd serves, grpc.health.v1 included; reflection is a client's tool, not the API. */
export const FUZZED_SERVICES = [...protoRegistry()].filter((d) => d.kind === "service").map((d) => d.typeName);

export const fuzzedMethods = (): DescMethod[] => FUZZED_SERVICES.flatMap((s) => protoRegistry().getService(s)!.methods);
const pathOf = (m: DescMethod): string => `/${m.parent.typeName}/${m.name}`;

/** The event-loop bound: no single request may hold the daemon's loop longer. */
export const MAX_LOOP_DELAY_S = 0.1;
const DELAY_WINDOW = 8;
const describe = (c: Case): string => `${pathOf(c.method)} (${c.kind}) ${Buffer.from(c.bytes).toString("base64").slice(0, 2000)}`;

export interface FuzzOptions {
  count: number;
  seed: number;
  progress?: (done: number) => void;
}

export interface FuzzReport {
  requests: number;
  /** Answers by status name, and by method and status name. */
  statuses: Record<string, number>;
  byMethod: Record<string, Record<string, number>>;
  /** Broken promises, each with what to replay (method, base64 bytes). */
  violations: string[];
  /** Stalls over the bound that did not repeat when the request was replayed alone (a busy host). */
  unconfirmedStalls: string[];
  maxLoopDelayMs: number;
  durationMs: number;
}

interface Case {
  method: DescMethod;
  bytes: Uint8Array;
  kind: "message" | "mutated" | "random";
}

/** Valid-shaped messages with edge values, their encodings cut or corrupted, and random bytes. */
function cases(methods: DescMethod[]): fc.Arbitrary<Case> {
  const method = fc.constantFrom(...methods);
  return fc.oneof(
    { weight: 7, arbitrary: method.chain((m) => requestBytes(m.input).map((bytes): Case => ({ method: m, bytes, kind: "message" }))) },
    {
      weight: 2,
      arbitrary: method.chain((m) =>
        fc.tuple(requestBytes(m.input), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("cut", "flip", "insert")).map(([b, at, byte, how]): Case => {
          const i = b.length === 0 ? 0 : at % b.length;
          const bytes =
            how === "cut" ? b.subarray(0, i) : how === "flip" ? Uint8Array.from(b, (x, j) => (j === i ? byte : x)) : Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)]);
          return { method: m, bytes, kind: "mutated" };
        }),
      ),
    },
    { weight: 1, arbitrary: method.chain((m) => fc.uint8Array({ maxLength: 64 }).map((bytes): Case => ({ method: m, bytes, kind: "random" }))) },
  );
}

/**
 * Sends `count` generated requests (seeded: the same seed sends the same requests) one at a
 * time to a fresh ctmd, and checks after each: no INTERNAL or UNKNOWN answer, no hang or
 * crash, a refused request left the head revision where it was, and the daemon's event loop
 * was never held longer than MAX_LOOP_DELAY_S (read from ctm_event_loop_delay_max_seconds,
 * which resets on each scrape).
 */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  // Background loops stay quiet, so that only the request in flight can move the head.
  const daemon = await Daemon.start({ args: ["--scheduler-interval-ms", "3600000", "--health-interval-ms", "3600000"] });
  const raw = new RawClient(daemon.address);
  const metrics = metricsAddress(daemon);
  const report: FuzzReport = { requests: 0, statuses: {}, byMethod: {}, violations: [], unconfirmedStalls: [], maxLoopDelayMs: 0, durationMs: 0 };
  const headRequest = encodeMessage("ctm.v1.SnapshotRequest", { prefix: "zz-fuzz-none/" });
  const head = async (): Promise<bigint> => {
    const a = await raw.unary("/ctm.v1.ConfigService/Snapshot", headRequest, undefined, 10_000);
    if (a.code !== grpc.status.OK) throw new Error(`Snapshot for the head revision answered ${grpc.status[a.code]}: ${a.details}`);
    return (decodeMessage("ctm.v1.SnapshotResponse", a.response!).header as { revision: bigint }).revision;
  };
  const loopDelay = async (): Promise<number> => {
    const res = await fetch(`http://${metrics}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const line = /^ctm_event_loop_delay_max_seconds (\S+)$/m.exec(await res.text());
    if (!line) throw new Error("ctmd exports no ctm_event_loop_delay_max_seconds");
    return Number(line[1]);
  };
  /** Replays each request of a stalled window alone, twice: a stall that repeats both times is the request's. */
  const attribute = async (window: Case[], delay: number): Promise<void> => {
    let repeated = false;
    for (const c of window) {
      const again: number[] = [];
      for (let i = 0; i < 2; i++) {
        await send(c);
        again.push(await loopDelay());
        if (again[i]! <= MAX_LOOP_DELAY_S) break;
      }
      if (again.length === 2 && again[1]! > MAX_LOOP_DELAY_S) {
        repeated = true;
        report.violations.push(`event loop held ${Math.round(delay * 1000)} ms, then ${again.map((s) => Math.round(s * 1000)).join(" and ")} ms alone: ${describe(c)}`);
      }
    }
    // A busy host delays timers too: a stall no request repeats is reported, not failed.
    if (!repeated) report.unconfirmedStalls.push(`event loop held ${Math.round(delay * 1000)} ms over ${window.map((c) => c.method.name).join(", ")}; no request repeated it alone`);
  };
  const send = (c: Case) => (c.method.methodKind === "server_streaming" ? raw.firstOfStream(pathOf(c.method), c.bytes, undefined, 10_000) : raw.unary(pathOf(c.method), c.bytes, undefined, 10_000));
  try {
    const methods = fuzzedMethods();
    const arb = cases(methods);
    let before = await head();
    await loopDelay();
    const BATCH = 500;
    for (let start = 0; start < opts.count; start += BATCH) {
      const batch = fc.sample(arb, { seed: opts.seed + start, numRuns: Math.min(BATCH, opts.count - start) });
      let window: Case[] = [];
      for (const [i, c] of batch.entries()) {
        const answer = await send(c);
        const replay = describe(c);
        let after: bigint;
        try {
          after = await head();
        } catch (e) {
          // Frozen or gone: nothing after this request can be judged.
          report.violations.push(`ctmd stopped answering (${String(e)}) after ${grpc.status[answer.code]} for ${replay}`);
          return report;
        }
        const status = grpc.status[answer.code] ?? String(answer.code);
        const name = `${c.method.parent.name}/${c.method.name}`;
        report.requests++;
        report.statuses[status] = (report.statuses[status] ?? 0) + 1;
        const mine = (report.byMethod[name] ??= {});
        mine[status] = (mine[status] ?? 0) + 1;
        if (["INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED", "UNAVAILABLE", "UNIMPLEMENTED"].includes(status)) report.violations.push(`${status} "${answer.details}" for ${replay}`);
        if (answer.code !== grpc.status.OK && after !== before) report.violations.push(`${status} moved the head ${before} -> ${after}: ${replay}`);
        before = after;
        window.push(c);
        // The loop delay is read once per window of requests (a scrape costs more than most
        // requests); a window over the bound has each of its requests replayed and read alone.
        if (window.length < DELAY_WINDOW && i < batch.length - 1) continue;
        const delay = await loopDelay();
        report.maxLoopDelayMs = Math.max(report.maxLoopDelayMs, delay * 1000);
        if (delay > MAX_LOOP_DELAY_S) await attribute(window, delay);
        before = await head();
        window = [];
        opts.progress?.(report.requests);
      }
    }
    const alive = await raw.unary("/grpc.health.v1.Health/Check", encodeMessage("grpc.health.v1.HealthCheckRequest", { service: "" }));
    if (alive.code !== grpc.status.OK) report.violations.push(`ctmd no longer answers: health Check ${grpc.status[alive.code]} ${alive.details}`);
  } finally {
    raw.close();
    await daemon.dispose();
    report.durationMs = Math.round(performance.now() - started);
  }
  return report;
}
