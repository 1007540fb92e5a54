// ctm bench: ctmd against a no-op grpc-js server (the transport ceiling), the disk's fsync
// rate and etcd, all measured in this one run on 127.0.0.1. A report, never a timed test.
// Usage: npm run bench   (BENCH_SECONDS per measurement, default 8, after a 2 s warm-up)
//        BENCH_ONLY=eval npm run bench   (only the in-process evaluation comparison, ~15 s)
//        BENCH_ONLY=encode npm run bench   (only the in-process Entry encoding comparison, ~10 s)
//        BENCH_ONLY=get,auth npm run bench   (Get against the no-op server, and auth on vs off)
//        BENCH_BASELINE=../other/dist/src/main.js BENCH_ONLY=baseline npm run bench
//                                           (Get with auth on, this build against another build)
//        BENCH_ONLY=snapshot npm run bench   (every key at a past revision, 100k keys, against etcd;
//                                             BENCH_SNAPSHOT_EVERY=1 changes every key, BENCH_BASELINE pairs a build:
//                                             listings, RollbackPrefix, and the level store's longest hold during a 100k-record commit)
//        BENCH_ONLY=etcd npm run bench   (Get and Set against etcd on both cores and on one, alternating)
//        BENCH_ONLY=workers npm run bench   (Get and Set with --workers 2 against 1 worker and none, alternating)
//        BENCH_ONLY=etcd-store npm run bench   (ctmd --store etcd on a 3-member etcd cluster: Set against etcd Put, Get against
//                                               the embedded store, 2 replicas against one, watch fan-out against etcd's;
//                                               BENCH_BASELINE pairs a build's Set on etcd)
//        BENCH_ONLY=startup npm run bench   (start-up time and memory per key; BENCH_BASELINE pairs a build)
//        BENCH_ONLY=cli npm run bench       (ctm commands from spawn to exit; BENCH_BASELINE pairs a build)
//        BENCH_ONLY=compaction npm run bench   (Get and Set during a large compaction against idle, alternating)
//        BENCH_ONLY=local-eval npm run bench   (local evaluations/s through the TypeScript, Go and Python caches, and their RPCs)
//        BENCH_ONLY=ofrep npm run bench   (OFREP single evaluations against gRPC Get with a context, and a bulk 304 against one evaluation)
import { benchCompaction } from "./bench-compaction.js";
import { benchLocalEval } from "./bench-local-eval.js";
import * as grpc from "@grpc/grpc-js";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetResponse } from "../src/gen/ctm/v1/config_service.js";
import { BenchContext } from "./bench-context.js";
import { benchEtcd } from "./bench-etcd.js";
import { benchEncode } from "./bench-encode.js";
import { benchEval } from "./bench-eval.js";
import { benchGet } from "./bench-get.js";
import { benchAccessLog } from "./bench-access-log.js";
import { benchAuth } from "./bench-auth.js";
import { benchBaseline } from "./bench-baseline.js";
import { benchSnapshot } from "./bench-snapshot.js";
import { benchSnapshotBuilds } from "./bench-snapshot-builds.js";
import { benchCommitHold } from "./bench-commit-hold.js";
import { benchStartup } from "./bench-startup.js";
import { benchCliStartup } from "./bench-cli-startup.js";
import { benchGetContext } from "./bench-get-context.js";
import { benchOfrep } from "./bench-ofrep.js";
import { benchSet } from "./bench-set.js";
import { benchWorkers } from "./bench-workers.js";
import { benchEtcdStore } from "./bench-etcd-store.js";
import { benchWatch } from "./bench-watch.js";
import { ChildProcesses } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { RawClient } from "./raw-client.js";
import { Report } from "./report.js";
import { requireTools } from "./require-tools.js";
import { paths, settings } from "./settings.js";
import { startCtmd } from "./start-ctmd.js";
import { systemInfo } from "./system-info.js";

/** True when BENCH_ONLY names exactly these sections. */
const only = (...sections: string[]): boolean => (process.env["BENCH_ONLY"] ?? "").split(",").sort().join(",") === [...sections].sort().join(",");

async function main(): Promise<number> {
  if (process.env["BENCH_ONLY"] === "eval" || process.env["BENCH_ONLY"] === "encode") return inProcessOnly(process.env["BENCH_ONLY"]);
  const tools = requireTools();
  const info = systemInfo();
  const report = new Report();
  // Every child (servers, h2load, watch clients) dies with this process, whatever happens.
  const children = new ChildProcesses();
  const work = mkdtempSync(join(tmpdir(), "ctm-bench-"));
  process.on("exit", () => rmSync(work, { recursive: true, force: true }));
  const ctx = new BenchContext(children, report, work);
  let error: unknown;
  try {
    ctx.log(`work dir ${work}; ${settings.seconds} s per measurement after ${settings.warmupSeconds} s warm-up`);
    // First, while no server runs: in-process evaluation shares the bench driver's one thread.
    await benchEval(report, (text) => ctx.log(text));
    await benchEncode(report, (text) => ctx.log(text));
    const ctmd = await startCtmd(children, work);
    ctx.log(`ctmd listening on ${ctmd.address}`);
    const ctm = new RawClient(ctmd.address);
    try {
      const seeded = await ctm.unary(paths.set, fixture.seedRequest());
      const got = await ctm.unary(paths.get, fixture.getRequest());
      const entry = got.body ? GetResponse.decode(got.body).entry : undefined;
      report.check(
        seeded.code === grpc.status.OK && got.code === grpc.status.OK && entry?.key === fixture.key && JSON.stringify(entry.value) === JSON.stringify(fixture.value),
        `ctmd: seed Set ${grpc.status[seeded.code]}${seeded.details ? ` (${seeded.details})` : ""}; one grpc-js Get with the h2load frame ${grpc.status[got.code]} returning the seeded value`,
      );
      if (seeded.code !== grpc.status.OK) throw new Error(`ctmd rejected the seed Set: ${grpc.status[seeded.code]} ${seeded.details}`);

      if (only("startup")) {
        await benchStartup(ctx);
      } else if (only("cli")) {
        await benchCliStartup(ctx, ctmd.address);
      } else if (only("etcd")) {
        await benchEtcd(ctx, ctmd);
      } else if (only("workers")) {
        await benchWorkers(ctx);
      } else if (only("etcd-store")) {
        await benchEtcdStore(ctx, ctmd);
      } else if (only("snapshot")) {
        await benchSnapshot(ctx);
        const baseline = process.env["BENCH_BASELINE"];
        if (baseline) {
          await benchSnapshotBuilds(ctx, baseline);
          await benchCommitHold(ctx, baseline);
        }
      } else if (only("compaction")) {
        await benchCompaction(ctx);
      } else if (only("local-eval")) {
        await benchLocalEval(ctx, ctmd, ctm);
      } else if (only("ofrep")) {
        await benchOfrep(ctx, ctmd, ctm);
      } else if (only("baseline")) {
        const entry = process.env["BENCH_BASELINE"];
        if (!entry) throw new Error("BENCH_ONLY=baseline needs BENCH_BASELINE=<another build's dist/src/main.js>");
        await benchBaseline(ctx, entry);
      } else if (only("get", "auth")) {
        // The transport ceiling, and the cost of the auth chain on the same Get.
        await benchGet(ctx, ctmd);
        await benchAuth(ctx, ctmd);
      } else {
        await benchGet(ctx, ctmd);
        await benchGetContext(ctx, ctmd, ctm);
        await benchOfrep(ctx, ctmd, ctm);
        await benchLocalEval(ctx, ctmd, ctm);
        await benchAccessLog(ctx, ctmd);
        await benchAuth(ctx, ctmd);
        await benchSet(ctx, ctmd, ctm);
        const etcd = await benchEtcd(ctx, ctmd);
        await benchWatch(ctx, ctmd.address, ctm, etcd.address);
        await benchWorkers(ctx);
        await benchEtcdStore(ctx, ctmd);
        await benchCompaction(ctx);
        await benchCliStartup(ctx, ctmd.address);
      }
    } finally {
      ctm.close();
    }
  } catch (e) {
    error = e;
  } finally {
    await children.closeAll();
    children.dispose();
  }
  ctx.noteServerCpu();
  report.note(
    `req/s: h2load over h2c, one thread (-t1), ${settings.seconds} s measured after ${settings.warmupSeconds} s warm-up; concurrency = connections (-c) × streams per connection (-m). h2load counts gRPC errors as successes, so each run is checked against a server-side count (no-op: its own counter over IPC; ctmd: its per-RPC log lines and the Set key's version; etcd: grpc_server_handled_total from /metrics).`,
  );
  report.note(
    `p99 of Get and Set: a grpc-js client in the bench driver, ${settings.latencyCalls} calls after 200 warm-up calls, with that many calls in flight over as many connections as the h2load row; the client's own overhead (grpc-js saturates near 10k calls/s here) is in both columns.`,
  );
  report.note(`Durable Set and etcd Put via h2load write one key each (h2load sends one fixed body), so every Set is a new version of that key; the grpc-js Set/Put p99 runs use distinct keys.`);
  report.note(`Rows against a baseline (the no-op server, or ctmd with the access log off) come from ${settings.rounds} rounds (BENCH_ROUNDS, default 3), each one run of each side of ${settings.roundSeconds} s, in alternating order; the ratio is the median of the per-round ratios, so a slow spell of this shared VM lands on both sides. Main-thread CPU per request (/proc/<pid>/task/<pid>/stat) is reported beside it: both servers are bound by their JavaScript thread. No-op server: grpc-js in its own process, answering ctm.v1.ConfigService/Get with a fixed, pre-encoded GetResponse shaped like ctmd's. ctmd: dist/src/main.js with its defaults (one info-level JSON log line per RPC, here to a file).`);

  const markdown = report.render(info, systemInfo(), tools, error);
  console.log(markdown);
  const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  // A partial run (BENCH_ONLY) keeps its own file, so latest.md always holds a whole run.
  const section = process.env["BENCH_ONLY"];
  const file = join(resultsDir, section ? `latest-${section.split(",").sort().join("-")}.md` : "latest.md");
  writeFileSync(file, markdown);
  ctx.log(`written to ${file}`);
  return error !== undefined || report.failed > 0 ? 1 : 0;
}

/** BENCH_ONLY=eval or encode: one in-process comparison alone, no servers and no h2load/etcd. */
async function inProcessOnly(section: "eval" | "encode"): Promise<number> {
  const info = systemInfo();
  const report = new Report();
  let error: unknown;
  try {
    const log = (text: string): void => console.error(`[bench] ${text}`);
    if (section === "eval") await benchEval(report, log);
    else await benchEncode(report, log);
  } catch (e) {
    error = e;
  }
  console.log(report.render(info, systemInfo(), { h2load: "not used", etcd: "not used" }, error));
  return error !== undefined || report.failed > 0 ? 1 : 0;
}

// Exit explicitly: a failed run may leave client channels open.
process.exit(await main());
