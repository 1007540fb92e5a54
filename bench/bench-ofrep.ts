import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, settle } from "./bench-context.js";
import type { ChildProcesses } from "./child-processes.js";
import { formatRate, formatRatio, formatUs } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { balancedRounds, median, pairedRounds } from "./paired-rounds.js";
import type { RawClient } from "./raw-client.js";
import { rollout } from "./rollout-fixture.js";
import { runH2loadArgs, type H2loadResult } from "./run-h2load.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { mainThreadCpuSeconds } from "./thread-cpu.js";
import { GetResponse, SetRequest } from "../src/gen/ctm/v1/config_service.js";
import { Reason } from "../src/gen/ctm/v1/rollout.js";

/** Static flags beside the rolling key, so the bulk answer a 304 stands for holds a client's worth. */
const BULK_FLAGS = 20;
const BULK_PREFIX = "bench/";
/** The request id the gRPC side's context carries, sent as x-request-id: both sides write an access record. */
const REQUEST_ID = "bench-0123456789abcdef";

type Side = { run: H2loadResult; us: number };

/**
 * OFREP single evaluations against gRPC Get with the same context on the same daemon, at c64, in
 * alternating rounds: the rolling key of the Get-with-context row, unit user-4243 (every rule
 * tried, both hashes), the same attributes and request id. HTTP/1.1 has no multiplexing, so
 * OFREP's c64 is 64 connections (h2load --h1 -c64), as 64 OFREP clients would hold. Then a bulk
 * evaluation answered 304 (If-None-Match with its ETag) against one single evaluation.
 */
export async function benchOfrep(ctx: BenchContext, ctmd: CtmdHandle, ctm: RawClient): Promise<void> {
  const { report } = ctx;
  const http = httpAddress(ctmd.logFile);
  const seeded = await ctm.unary(paths.set, rollout.seedRequest());
  for (let i = 0; i < BULK_FLAGS; i++) {
    const r = await ctm.unary(paths.set, SetRequest.encode({ key: `${BULK_PREFIX}ofrep/flag-${String(i).padStart(2, "0")}`, value: { on: i % 2 === 0, limit: i }, author: "bench", message: "ofrep" }).finish());
    if (r.code !== grpc.status.OK) throw new Error(`ctmd rejected a bulk flag: ${grpc.status[r.code]} ${r.details}`);
  }
  if (seeded.code !== grpc.status.OK) throw new Error(`ctmd rejected the rolling seed Set: ${grpc.status[seeded.code]} ${seeded.details}`);

  // The same evaluation both ways, checked equal before anything is measured.
  const request = rollout.getRequest();
  const grpcSample = await ctm.unary(paths.get, request);
  const answer = grpcSample.body ? GetResponse.decode(grpcSample.body) : undefined;
  const body = JSON.stringify({ context: { targetingKey: rollout.getUnitId, environment: "prod", country: "DE", plan: "pro", app_version: "2.3.1" } });
  const singleUrl = `http://${http}/ofrep/v1/evaluate/flags/${rollout.key}`;
  const headers = { "content-type": "application/json", "x-request-id": REQUEST_ID };
  const single = await fetch(singleUrl, { method: "POST", headers, body });
  const one = (await single.json()) as { value?: unknown; variant?: string; metadata?: { ctmReason?: string } };
  const same = answer !== undefined && single.status === 200 && JSON.stringify(one.value) === JSON.stringify(answer.value) && one.variant === answer.variant && answer.reason === Reason.REASON_VARIANT && one.metadata?.ctmReason === "variant";
  report.check(same, `OFREP and gRPC Get agree on ${rollout.key} for ${rollout.getUnitId}: OFREP ${single.status} value ${JSON.stringify(one.value)} variant "${one.variant}" (${one.metadata?.ctmReason}); gRPC ${grpc.status[grpcSample.code]} value ${JSON.stringify(answer?.value)} variant "${answer?.variant}" (${answer ? Reason[answer.reason] : "-"})`);
  if (!same) throw new Error("OFREP and gRPC Get disagree; not measuring them");

  const bulkUrl = `http://${http}/ofrep/v1/evaluate/flags?prefix=${BULK_PREFIX}`;
  const full = await fetch(bulkUrl, { method: "POST", headers, body });
  const flags = ((await full.json()) as { flags?: unknown[] }).flags?.length ?? 0;
  const etag = full.headers.get("etag") ?? "";
  const again = await fetch(bulkUrl, { method: "POST", headers: { ...headers, "if-none-match": etag }, body });
  report.check(full.status === 200 && flags >= BULK_FLAGS + 1 && again.status === 304, `OFREP bulk under ${BULK_PREFIX}: ${full.status} with ${flags} flags and ETag ${etag}; the same request with If-None-Match: ${again.status}`);
  if (again.status !== 304) throw new Error("the bulk evaluation did not answer 304 to its own ETag; not measuring it");

  const bodyFile = join(ctx.work, "ofrep-body.json");
  writeFileSync(bodyFile, body);
  const frame = ctx.frame("ofrep-grpc-get-context", request);
  const level = settings.c64;
  const h1Headers = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  const ofrepSingle = (round: number): Promise<Side> =>
    measure(ctmd, round, (warmup) => runH1(ctx.children, { url: singleUrl, bodyFile, headers: h1Headers, connections: level.concurrency, seconds: settings.roundSeconds, warmupSeconds: warmup }));
  const grpcGet = (round: number): Promise<Side> =>
    measure(ctmd, round, (warmup) => ctx.h2load({ label: "ctmd Get+context c64 (beside OFREP)", process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords }, paths.get, frame, level, warmup, settings.roundSeconds));
  const ofrepSingleH2 = (round: number): Promise<Side> =>
    measure(ctmd, round, (warmup) =>
      runH1(ctx.children, { url: singleUrl, bodyFile, headers: h1Headers, connections: level.connections, h2Streams: level.streams, seconds: settings.roundSeconds, warmupSeconds: warmup }),
    );
  const bulk304 = (round: number): Promise<Side> =>
    measure(ctmd, round, (warmup) => runH1(ctx.children, { url: bulkUrl, bodyFile, headers: [...h1Headers, `if-none-match: ${etag}`], connections: level.concurrency, seconds: settings.roundSeconds, warmupSeconds: warmup }));

  ctx.log("OFREP single evaluations vs gRPC Get with a context, c64");
  // The sample calls' log lines are written asynchronously: let them land before counting.
  await settle();
  const tally = new HttpLogTally(ctmd.logFile);
  ctmd.rpcLog.mark();
  const vsGrpc = await pairedRounds(grpcGet, ofrepSingle, balancedRounds());
  await settle();
  const grpcTally = ctmd.rpcLog.tally("Get");
  const firstTally = tally.take();
  ctx.log("OFREP single evaluations over HTTP/2 vs gRPC Get with a context, c64");
  ctmd.rpcLog.mark();
  const vsGrpcH2 = await pairedRounds(grpcGet, ofrepSingleH2, balancedRounds());
  await settle();
  const grpcTallyH2 = ctmd.rpcLog.tally("Get");
  const h2Tally = tally.take();
  ctx.log("OFREP bulk answered 304 vs single evaluations, c64");
  const vsSingle = await pairedRounds(ofrepSingle, bulk304, balancedRounds());
  await settle();
  const secondTally = tally.take();

  const succeeded = (sides: Side[]) => sides.reduce((a, s) => a + s.run.succeeded, 0);
  const grpcRuns = vsGrpc.base.map((s) => s.run);
  report.check(
    grpcRuns.every((r) => h2clean(r, 64)) && onlyCutOff(grpcTally.failures, 64 * grpcRuns.length) && grpcTally.ok >= succeeded(vsGrpc.base),
    `ctmd Get with a context c64 beside OFREP, ${grpcRuns.length} runs: ${grpcRuns.map(h2counts).join("; ")}; ctmd logged ${grpcTally.ok} OK and ${grpcTally.failed} failed Gets${failuresText(grpcTally.failures)} (incl. warm-up)`,
  );
  const h1 = (sides: Side[]) => sides.map((s) => s.run);
  report.check(
    h1(vsGrpc.mine).every((r) => h1clean(r, "2xx")) && (firstTally.get("ofrep 200") ?? 0) >= succeeded(vsGrpc.mine) && onlyCutOffHttp(firstTally, ["ofrep 200"], 64 * vsGrpc.mine.length),
    `OFREP single evaluations c64 beside gRPC, ${vsGrpc.mine.length} runs: ${h1(vsGrpc.mine).map(h1counts).join("; ")}; ctmd logged ${describe(firstTally)} (incl. warm-up)`,
  );
  const grpcRunsH2 = vsGrpcH2.base.map((s) => s.run);
  report.check(
    grpcRunsH2.every((r) => h2clean(r, 64)) && onlyCutOff(grpcTallyH2.failures, 64 * grpcRunsH2.length) && grpcTallyH2.ok >= succeeded(vsGrpcH2.base),
    `ctmd Get with a context c64 beside OFREP over HTTP/2, ${grpcRunsH2.length} runs: ${grpcRunsH2.map(h2counts).join("; ")}; ctmd logged ${grpcTallyH2.ok} OK and ${grpcTallyH2.failed} failed Gets${failuresText(grpcTallyH2.failures)} (incl. warm-up)`,
  );
  report.check(
    h1(vsGrpcH2.mine).every((r) => h1clean(r, "2xx")) && (h2Tally.get("ofrep 200") ?? 0) >= succeeded(vsGrpcH2.mine) && onlyCutOffHttp(h2Tally, ["ofrep 200"], 64 * vsGrpcH2.mine.length),
    `OFREP single evaluations over HTTP/2 c64 beside gRPC, ${vsGrpcH2.mine.length} runs: ${h1(vsGrpcH2.mine).map(h1counts).join("; ")}; ctmd logged ${describe(h2Tally)} (incl. warm-up)`,
  );
  report.check(
    h1(vsSingle.base).every((r) => h1clean(r, "2xx")) &&
      h1(vsSingle.mine).every((r) => h1clean(r, "3xx")) &&
      (secondTally.get("ofrep 200") ?? 0) >= succeeded(vsSingle.base) &&
      (secondTally.get("ofrep 304") ?? 0) >= succeeded(vsSingle.mine) &&
      onlyCutOffHttp(secondTally, ["ofrep 200", "ofrep 304"], 64 * 2 * vsSingle.mine.length),
    `OFREP single evaluations and bulk 304s c64, ${vsSingle.base.length} runs each: single ${h1(vsSingle.base).map(h1counts).join("; ")}; bulk ${h1(vsSingle.mine).map(h1counts).join("; ")}; ctmd logged ${describe(secondTally)} (incl. warm-up)`,
  );

  const rate = (sides: Side[]) => median(sides.map((s) => s.run.reqPerSec));
  const us = (sides: Side[]) => median(sides.map((s) => s.us));
  const ratios = (p: { base: Side[]; mine: Side[] }, f: (s: Side) => number) => p.mine.map((m, i) => f(m) / f(p.base[i]!));
  const rateRatios = ratios(vsGrpc, (s) => s.run.reqPerSec);
  report.row(
    `OFREP single evaluations/s over HTTP/1.1, c64 (h2load --h1 -c64: a connection per request in flight, a read and a write each) vs gRPC Get with the same context over HTTP/2 (h2load -c${level.connections} -m${level.streams})`,
    formatRate(rate(vsGrpc.mine)),
    formatRate(rate(vsGrpc.base)),
    formatRatio(0, 0, median(rateRatios)),
  );
  const rateRatiosH2 = ratios(vsGrpcH2, (s) => s.run.reqPerSec);
  report.row(
    `OFREP single evaluations/s over HTTP/2, c64 (h2load -c${level.connections} -m${level.streams}, as gRPC), rolling key with a context vs gRPC Get with the same context (goal ≥ 1.0×)`,
    formatRate(rate(vsGrpcH2.mine)),
    formatRate(rate(vsGrpcH2.base)),
    formatRatio(0, 0, median(rateRatiosH2)),
  );
  report.row(`OFREP single over HTTP/2 vs gRPC Get with a context: main-thread CPU per request, c64`, formatUs(us(vsGrpcH2.mine)), formatUs(us(vsGrpcH2.base)), formatRatio(us(vsGrpcH2.mine), us(vsGrpcH2.base)));
  report.note(`OFREP single over HTTP/2 ÷ gRPC Get with a context, req/s per round: ${rateRatiosH2.map((r) => r.toFixed(2)).join(", ")}; main-thread CPU per request per round: ${ratios(vsGrpcH2, (s) => s.us).map((r) => r.toFixed(2)).join(", ")}.`);
  report.row(`OFREP single over HTTP/1.1 vs gRPC Get with a context: main-thread CPU per request, c64`, formatUs(us(vsGrpc.mine)), formatUs(us(vsGrpc.base)), formatRatio(us(vsGrpc.mine), us(vsGrpc.base)));
  const cpuRatios = ratios(vsSingle, (s) => s.us);
  report.row(
    `OFREP bulk answered 304 (${flags} flags, If-None-Match) vs one single evaluation: main-thread CPU per request, c64 (goal < 1.0×)`,
    formatUs(us(vsSingle.mine)),
    formatUs(us(vsSingle.base)),
    formatRatio(0, 0, median(cpuRatios)),
  );
  report.row(`OFREP bulk answered 304 vs one single evaluation: req/s, c64`, formatRate(rate(vsSingle.mine)), formatRate(rate(vsSingle.base)), formatRatio(0, 0, median(ratios(vsSingle, (s) => s.run.reqPerSec))));
  report.note(`OFREP single ÷ gRPC Get with a context, req/s per round (the row shows the median): ${rateRatios.map((r) => r.toFixed(2)).join(", ")}; main-thread CPU per request per round: ${ratios(vsGrpc, (s) => s.us).map((r) => r.toFixed(2)).join(", ")}.`);
  report.note(`OFREP bulk 304 ÷ single, main-thread CPU per request per round: ${cpuRatios.map((r) => r.toFixed(2)).join(", ")}; req/s per round: ${ratios(vsSingle, (s) => s.run.reqPerSec).map((r) => r.toFixed(2)).join(", ")}.`);
  report.note(
    `OFREP: POST /ofrep/v1/evaluate/flags/${rollout.key} with {"context": {targetingKey ${rollout.getUnitId}, environment, country, plan, app_version}} and x-request-id (an access record each, as the gRPC side's request_id makes); every answer is 200 (h2load's status counts and ctmd's http log lines), equal to gRPC Get's for the same context. The bulk side asks for every flag under ${BULK_PREFIX} (${flags}) with the ETag of that answer: every answer is 304, found by one hash of the request before any parsing or evaluation.`,
  );
}

/** One run of a side, with its main thread's CPU per request (warm-up included, as the run's requests are). */
async function measure(ctmd: CtmdHandle, round: number, run: (warmupSeconds: number) => Promise<H2loadResult>): Promise<Side> {
  const warmup = round === 0 ? settings.warmupSeconds : 1;
  const cpu0 = mainThreadCpuSeconds(ctmd.child.pid);
  const r = await run(warmup);
  const cpu = mainThreadCpuSeconds(ctmd.child.pid) - cpu0;
  return { run: r, us: (cpu * 1e6) / (r.reqPerSec * (settings.roundSeconds + warmup)) };
}

/** h2load over HTTP/1.1 (one request in flight per connection) or HTTP/2 (h2Streams per connection), POSTing `bodyFile`. */
function runH1(children: ChildProcesses, o: { url: string; bodyFile: string; headers: string[]; connections: number; seconds: number; warmupSeconds: number; h2Streams?: number }): Promise<H2loadResult> {
  // With h2Streams: HTTP/2 with prior knowledge, that many streams per connection.
  const protocol = o.h2Streams === undefined ? ["--h1", "-m", "1"] : ["-m", String(o.h2Streams)];
  return runH2loadArgs(children, [...protocol, "-c", String(o.connections), ...o.headers.flatMap((h) => ["-H", h]), "-d", o.bodyFile, o.url], o.seconds, o.warmupSeconds);
}

/** Every request answered with the expected class of status, but the ones the end of the run cut off. */
function h1clean(r: H2loadResult, expected: "2xx" | "3xx"): boolean {
  const got = expected === "2xx" ? r.status2xx : r.status3xx;
  const other = r.status2xx + r.status3xx + r.status4xx + r.status5xx - got;
  return r.done > 0 && got >= r.done - 64 && other === 0 && r.failed + r.errored + r.timeout <= 64;
}

const h1counts = (r: H2loadResult): string =>
  `h2load counted ${r.done} done, ${r.succeeded} succeeded, ${r.status2xx} 2xx, ${r.status3xx} 3xx, ${r.status4xx} 4xx, ${r.status5xx} 5xx, ${r.failed + r.errored + r.timeout} failed`;

/** Only the expected "route status" lines, and at most `cut` others: requests h2load abandoned (499). */
function onlyCutOffHttp(t: Map<string, number>, expected: string[], cut: number): boolean {
  let others = 0;
  for (const [k, n] of t) if (!expected.includes(k)) others += k.endsWith(" 499") ? n : Infinity;
  return others <= cut;
}

const describe = (t: Map<string, number>): string => [...t].map(([k, n]) => `${n} × ${k}`).join(", ") || "nothing";

/** ctmd's http log lines ({"route","status","msg":"http"}) appended since the last take, by "route status". */
class HttpLogTally {
  private offset: number;
  private carry = "";

  constructor(private readonly file: string) {
    const fd = openSync(file, "r");
    this.offset = fstatSync(fd).size;
    closeSync(fd);
  }

  take(): Map<string, number> {
    const out = new Map<string, number>();
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
        for (const line of lines) {
          if (!line.includes('"msg":"http"')) continue;
          const k = `${/"route":"([^"]+)"/.exec(line)?.[1]} ${/"status":(\d+)/.exec(line)?.[1]}`;
          out.set(k, (out.get(k) ?? 0) + 1);
        }
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}

/** The HTTP face's address from ctmd's "listening" line. */
function httpAddress(logFile: string): string {
  const line = readFileSync(logFile, "utf8")
    .split("\n")
    .map((l) => (l.startsWith("{") ? (JSON.parse(l) as { msg?: string; http?: string }) : {}))
    .find((l) => l.msg === "listening");
  if (!line?.http || line.http === "off") throw new Error("ctmd logged no HTTP address");
  return line.http;
}
