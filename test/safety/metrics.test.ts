import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { WatchStatus } from "../../src/gen/ctm/v1/config_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { api, connect, headRevision, rejects } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { eventually, healthApi, metricsAddress, rule, scrape, seconds, validatorApi } from "../helpers/safety-clients.js";
import { WatchStream } from "../helpers/watch-stream.js";
import { rollOut, waitKind } from "./health-helpers.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const REQUIRED = [
  "ctm_rpc_requests_total",
  "ctm_rpc_duration_seconds",
  "ctm_records_written_total",
  "ctm_watch_streams",
  "ctm_watch_events_sent_total",
  "ctm_active_rollouts",
  "ctm_auto_rollbacks_total",
  "ctm_validator_rejections_total",
  "ctm_access_log_queue_depth",
  "ctm_access_log_dropped_total",
  "ctm_leveldb_size_bytes",
];

describe("GET /metrics on the daemon's metrics address", () => {
  it("exposes the RPC, log, watch, rollout, safety and storage metrics, and they move with what clients do", async () => {
    const daemon = await Daemon.start({ args: ["--health-interval-ms", "100"] });
    const client = connect(daemon.address);
    const v = validatorApi(daemon.address);
    const h = healthApi(daemon.address);
    cleanups.push(() => daemon.dispose(), () => client.close(), () => v.client.close(), () => h.client.close());
    const c = api(client);
    const addr = metricsAddress(daemon);
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);

    const m0 = await scrape(addr);
    expect(m0.contentType).toContain("text/plain");
    for (const name of REQUIRED) expect(m0.text, name).toContain(`# TYPE ${name} `);
    expect(m0.text).toContain("# TYPE ctm_rpc_duration_seconds histogram");
    expect(m0.value("ctm_records_written_total")).toBe(0);
    expect(m0.value("ctm_active_rollouts")).toBe(0);
    expect(m0.value("ctm_watch_streams")).toBe(0);
    expect(m0.value("ctm_access_log_dropped_total")).toBe(0);
    expect(m0.value("ctm_leveldb_size_bytes")).toBeGreaterThan(0);
    expect((await fetch(`http://${addr}/other`)).status).toBe(404);

    // Writes and reads: 5 Sets of 4 KiB values, 2 good Gets, 1 Get of a missing key.
    const big = "x".repeat(4096);
    for (let i = 0; i < 5; i++) await c.set({ key: `obs/k${i}`, value: { i, big } });
    await c.get({ key: "obs/k1" });
    await c.get({ key: "obs/k2" });
    expect((await rejects(c.get({ key: "obs/missing" }))).code).toBe(grpc.status.NOT_FOUND);

    // A Watch stream: open, one event, closed.
    const watch = new WatchStream(client, { key: "obs/", prefix: true, startRevision: 0 });
    await watch.until(() => watch.responses.some((r) => r.status === WatchStatus.WATCH_STATUS_CREATED));
    expect((await scrape(addr)).value("ctm_watch_streams")).toBe(1);
    await c.set({ key: "obs/watched", value: 1 });
    await watch.until(() => watch.events.length >= 1);
    expect((await scrape(addr)).value("ctm_watch_events_sent_total")).toBeGreaterThanOrEqual(1);
    watch.cancel();
    await eventually("the watch stream to be released", async () => ((await scrape(addr)).value("ctm_watch_streams") === 0 ? true : undefined));

    // A rollout, a validator that refuses a write, and a health check that rolls the rollout back.
    await rollOut(c, "obs/flag", "off", "on");
    expect((await scrape(addr)).value("ctm_active_rollouts")).toBe(1);
    await v.setValidator({ validator: { name: "obs-v", keys: ["obs/limit"], rules: [rule.range(0, 10)] } });
    expect((await rejects(c.set({ key: "obs/limit", value: 11 }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    await h.setHealthCheck({ check: { name: "obs-h", keys: ["obs/flag"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.1, minSamples: 1, failuresToAct: 1, window: seconds(60) } });
    await h.reportMetrics({ samples: [{ key: "obs/flag", variant: "new", requests: 10, errors: 9 }] });
    await waitKind(c, "obs/flag", RecordKind.RECORD_KIND_AUTO_ROLLBACK);

    // Access log traffic: the queue fills between flushes and drains after.
    let traffic = true;
    let n = 0;
    const load = (async () => {
      while (traffic) await Promise.all(Array.from({ length: 50 }, () => c.get({ key: "obs/k0", context: { unitId: "u", requestId: `q-${n++}`, environment: "", attributes: {} } })));
    })();
    const depth = await eventually("a non-empty access log queue", async () => {
      const d = (await scrape(addr)).value("ctm_access_log_queue_depth");
      return d > 0 ? d : undefined;
    }, 20_000, 5);
    traffic = false;
    await load;
    expect(depth).toBeGreaterThan(0);
    await eventually("the access log queue to drain", async () => ((await scrape(addr)).value("ctm_access_log_queue_depth") === 0 ? true : undefined));

    // One batch of mixed kinds: each run of a kind is counted (set, delete, set).
    await c.apply({
      operations: [
        { operation: { $case: "set", value: { key: "obs/m1", value: 1 } } },
        { operation: { $case: "delete", value: { key: "obs/m1", force: false } } },
        { operation: { $case: "set", value: { key: "obs/m2", value: 2 } } },
      ],
    });

    const m = await scrape(addr);
    // RPCs by method and code; the latency histogram counts the same calls.
    expect(m.value("ctm_rpc_requests_total", { method: "Set", code: "OK" })).toBe(8);
    expect(m.value("ctm_rpc_requests_total", { method: "Set", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(m.value("ctm_rpc_requests_total", { method: "Get", code: "NOT_FOUND" })).toBe(1);
    expect(m.value("ctm_rpc_requests_total", { method: "Get", code: "OK" })).toBe(2 + n);
    expect(m.value("ctm_rpc_requests_total", { method: "Validator.Set", code: "OK" })).toBe(1);
    expect(m.value("ctm_rpc_requests_total", { method: "HealthCheck.ReportMetrics", code: "OK" })).toBe(1);
    expect(m.value("ctm_rpc_duration_seconds_count", { method: "Set", code: "OK" })).toBe(8);
    expect(m.value("ctm_rpc_duration_seconds_bucket", { method: "Set", code: "OK", le: "+Inf" })).toBe(8);
    expect(m.value("ctm_rpc_duration_seconds_count", { method: "Get", code: "NOT_FOUND" })).toBe(1);
    expect(m.value("ctm_rpc_duration_seconds_sum", { method: "Set", code: "OK" })).toBeGreaterThan(0);
    // Every record appended, by kind: 8 Sets, 2 definitions, 2 sets and a delete in one Apply,
    // 1 auto-rollback = the head revision.
    expect(m.value("ctm_records_written_total", { kind: "set" })).toBe(12);
    expect(m.value("ctm_records_written_total", { kind: "delete" })).toBe(1);
    expect(m.value("ctm_records_written_total", { kind: "auto_rollback" })).toBe(1);
    expect(m.value("ctm_records_written_total")).toBe(await headRevision(client));
    expect(m.value("ctm_watch_streams")).toBe(0);
    expect(m.value("ctm_watch_events_sent_total")).toBeGreaterThanOrEqual(1);
    expect(m.value("ctm_active_rollouts")).toBe(0);
    expect(m.value("ctm_auto_rollbacks_total", { check: "obs-h", action: "rollback" })).toBe(1);
    expect(m.value("ctm_validator_rejections_total", { validator: "obs-v" })).toBe(1);
    expect(m.value("ctm_access_log_queue_depth")).toBe(0);
    expect(m.value("ctm_access_log_dropped_total")).toBe(0);
    expect(m.value("ctm_access_log_written_total")).toBe(n);
    expect(m.value("ctm_leveldb_size_bytes")).toBeGreaterThan(m0.value("ctm_leveldb_size_bytes") + 5 * 4096);
  });
});
