import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CompactRequest, CompactResponse, GetRetentionRequest, GetRetentionResponse } from "../src/gen/ctm/v1/admin_service.js";
import { ApplyRequest, SetRequest } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio } from "./format.js";
import { h2clean, h2counts } from "./load-checks.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd } from "./start-ctmd.js";

const COMPACT = "/ctm.v1.AdminService/Compact";
const RETENTION = "/ctm.v1.AdminService/GetRetention";

/**
 * BENCH_ONLY=compaction: Get and durable Set at c64 while a large compaction runs, against the
 * same daemon idle, in alternating rounds. Before each measured compaction, BENCH_COMPACTION_KEYS
 * keys (default 2,000) get BENCH_COMPACTION_VERSIONS new versions each (default 100), and a
 * policy lets every superseded version go: each compaction removes about keys × versions records.
 * A run counts only if the compaction was still running when it ended.
 */
export async function benchCompaction(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  const keys = Number(process.env["BENCH_COMPACTION_KEYS"] ?? 2000);
  const versions = Number(process.env["BENCH_COMPACTION_VERSIONS"] ?? 100);
  const dir = join(ctx.work, "compaction");
  mkdirSync(dir, { recursive: true });
  const ctmd = await startCtmd(ctx.children, dir, ["--compact-interval-ms", "0"]);
  const c = new RawClient(ctmd.address, 4);
  const target = { label: "ctmd", process: ctmd.child, address: ctmd.address, lastWords: ctmd.lastWords };
  const getFrame = ctx.frame("compaction-get", fixture.getRequest());
  const setFrame = ctx.frame("compaction-set", fixture.setRequest());
  const ok = async (path: string, body: Uint8Array, what: string): Promise<Buffer> => {
    const r = await c.unary(path, body, 600_000);
    if (r.code !== grpc.status.OK) throw new Error(`${what}: ${grpc.status[r.code]} ${r.details}`);
    return r.body!;
  };
  try {
    await ok(paths.set, fixture.seedRequest(), "seed Set");
    const policy = { keys: ["load/**"], keepVersions: 1, keepForMs: 0, keepAuditForMs: 0 };
    await ok(paths.set, SetRequest.encode(SetRequest.fromPartial({ key: "_ctm/retention/bench", value: policy, author: "bench" })).finish(), "policy Set");
    let generation = 0;
    /** Gives every load/ key `versions` new versions: what the next compaction removes. */
    const load = async (): Promise<void> => {
      const t = performance.now();
      for (let v = 0; v < versions; v++) {
        generation++;
        for (let from = 0; from < keys; from += 1000) {
          const ops = [];
          for (let i = from; i < Math.min(keys, from + 1000); i++) ops.push({ operation: { $case: "set" as const, value: { key: `load/k${String(i).padStart(6, "0")}`, value: { generation, pad: "p".repeat(100) } } } });
          await ok("/ctm.v1.ConfigService/Apply", ApplyRequest.encode(ApplyRequest.fromPartial({ operations: ops, author: "bench" })).finish(), "load Apply");
        }
      }
      ctx.log(`loaded ${keys * versions} records in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    };
    /** One h2load run, alone or during a compaction of a fresh load. */
    const measure = async (path: string, frame: string, during: boolean): Promise<{ rate: number; compaction?: { ms: number; removed: number; coveredRun: boolean } }> => {
      let compaction: Promise<{ ms: number; removed: number }> | undefined;
      if (during) {
        await load();
        const t = performance.now();
        compaction = ok(COMPACT, CompactRequest.encode({ author: "bench", message: "" }).finish(), "Compact").then((b) => ({ ms: performance.now() - t, removed: CompactResponse.decode(b).compaction!.removed }));
        // Measured once it has started: the horizon check and the first reads are under way.
        while (!GetRetentionResponse.decode(await ok(RETENTION, GetRetentionRequest.encode({}).finish(), "GetRetention")).running) await new Promise((r) => setTimeout(r, 5));
      }
      const r = await ctx.h2load(target, path, frame, settings.c64, 1, settings.roundSeconds);
      if (!h2clean(r, settings.c64.concurrency)) throw new Error(`h2load ${path} did not run clean: ${h2counts(r)}`);
      if (!compaction) return { rate: r.reqPerSec };
      const running = GetRetentionResponse.decode(await ok(RETENTION, GetRetentionRequest.encode({}).finish(), "GetRetention")).running;
      const done = await compaction;
      return { rate: r.reqPerSec, compaction: { ...done, coveredRun: running } };
    };
    const rows: { get: [number, number]; set: [number, number]; compactions: { ms: number; removed: number; coveredRun: boolean }[] }[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      const row = { get: [0, 0] as [number, number], set: [0, 0] as [number, number], compactions: [] as { ms: number; removed: number; coveredRun: boolean }[] };
      for (const [kind, path, frame] of [["get", paths.get, getFrame], ["set", paths.set, setFrame]] as const) {
        for (const during of round % 2 === 0 ? [false, true] : [true, false]) {
          const m = await measure(path, frame, during);
          row[kind][during ? 1 : 0] = m.rate;
          if (m.compaction) row.compactions.push(m.compaction);
        }
      }
      rows.push(row);
      ctx.log(
        `round ${round + 1}: Get ${Math.round(row.get[1])} during / ${Math.round(row.get[0])} idle; Set ${Math.round(row.set[1])} / ${Math.round(row.set[0])}; compactions ${row.compactions.map((x) => `${x.removed} records in ${(x.ms / 1000).toFixed(1)} s${x.coveredRun ? "" : " (ended before the run)"}`).join(", ")}`,
      );
    }
    const covered = rows.every((r) => r.compactions.every((x) => x.coveredRun));
    report.check(covered, `Compaction bench: every measured run ended while its compaction still ran (${rows.flatMap((r) => r.compactions.map((x) => `${x.removed} records, ${(x.ms / 1000).toFixed(1)} s`)).join("; ")})`);
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [kind, label] of [["get", "Get"], ["set", "Durable Set"]] as const) {
      const ratios = rows.map((r) => r[kind][1] / r[kind][0]);
      report.row(
        `${label} req/s at c64 during a compaction of ${(keys * versions).toLocaleString("en-US")} records vs idle (goal ≥ 0.8×); rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}`,
        formatRate(med(rows.map((r) => r[kind][1]))),
        formatRate(med(rows.map((r) => r[kind][0]))),
        formatRatio(med(rows.map((r) => r[kind][1])), med(rows.map((r) => r[kind][0])), med(ratios)),
      );
    }
  } finally {
    c.close();
    await stop(ctmd.child);
  }
}
