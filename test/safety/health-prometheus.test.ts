import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verdict } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { Prometheus, TestExporter, freePort } from "../helpers/prometheus.js";
import { healthApi, metricsAddress, scrape, seconds } from "../helpers/safety-clients.js";
import { latest, rollOut, ticks, waitKind, waitState, type Health } from "./health-helpers.js";

// A real Prometheus (Debian's package, /usr/bin/prometheus) scrapes a test
// exporter every second; ctmd's check runs an instant query against it.
let exporter: TestExporter;
let prometheus: Prometheus;
let daemon: Daemon;
let client: Client;
let h: Health;

beforeAll(async () => {
  exporter = await TestExporter.start();
  [prometheus, daemon] = await Promise.all([Prometheus.start([exporter.address]), Daemon.start({ args: ["--health-interval-ms", "100"] })]);
  client = connect(daemon.address);
  h = healthApi(daemon.address);
});

afterAll(async () => {
  client?.close();
  h?.client.close();
  await daemon?.dispose();
  await prometheus?.stop();
  await exporter?.close();
});

const rate = (name: string, variant: string) => `sum(${name}{key="{{key}}",variant="${variant}"})`;
const CANARY = `${rate("app_errors_total", "canary")} / ${rate("app_requests_total", "canary")}`;
const STABLE = `${rate("app_errors_total", "stable")} / ${rate("app_requests_total", "stable")}`;

function report(key: string, variant: string, requests: number, errors: number): void {
  exporter.set("app_requests_total", { key, variant }, requests);
  exporter.set("app_errors_total", { key, variant }, errors);
}

describe("a Prometheus health check", () => {
  it("the exporter's healthy numbers leave the rollout alone; a high error rate rolls it back", async () => {
    const c = api(client);
    report("search.ranker", "canary", 1000, 10);
    report("search.ranker", "stable", 1000, 10);
    // Another key's series must not leak in through {{key}}.
    report("other", "canary", 1000, 900);
    const rollout = await rollOut(c, "search.ranker", "v1", "v2");
    await h.setHealthCheck({
      check: {
        name: "prom-errors",
        keys: ["search.*"],
        source: { $case: "prometheus", value: { url: prometheus.url, query: CANARY, stableQuery: STABLE } },
        maxErrorRate: 0.1,
        maxIncrease: 0.05,
        failuresToAct: 2,
        window: seconds(60),
      },
    });

    // Prometheus' first scrape comes a few seconds after it starts.
    const healthy = await waitState(h, "search.ranker", "prom-errors", (s) => s.verdict === Verdict.VERDICT_HEALTHY, 30_000);
    expect(healthy).toMatchObject({ canaryErrorRate: 0.01, stableErrorRate: 0.01, consecutiveFailures: 0, detail: "canary error rate 1.00% within limits" });
    expect(exporter.scrapes).toBeGreaterThan(0);
    for (const s of await ticks(h, "search.ranker", "prom-errors", 5)) expect(s.verdict).toBe(Verdict.VERDICT_HEALTHY);
    expect(await latest(c, "search.ranker")).toMatchObject({ revision: rollout.revision, kind: RecordKind.RECORD_KIND_SET });

    report("search.ranker", "canary", 1000, 400);
    const rb = await waitKind(c, "search.ranker", RecordKind.RECORD_KIND_AUTO_ROLLBACK, 30_000);
    expect(rb).toMatchObject({ value: "v1", author: "health:prom-errors", cause: "health" });
    expect(rb.message).toContain('auto-rollback by health check "prom-errors": canary error rate 40.00% > threshold 10.00%');
    expect(rb.message).toContain("stable 1.00%");
    expect(rb.message).toMatch(/restored "v1"$/);
    expect((await c.get({ key: "search.ranker" })).value).toBe("v1");
    // What ctmd saw is what Prometheus answers.
    expect(await prometheus.query(CANARY.replaceAll("{{key}}", "search.ranker"))).toBe(0.4);
    const m = await scrape(metricsAddress(daemon));
    expect(m.value("ctm_auto_rollbacks_total", { check: "prom-errors", action: "rollback" })).toBe(1);
  });

  it("a Prometheus that does not answer is inconclusive, never a rollback", async () => {
    const c = api(client);
    const rollout = await rollOut(c, "cart", 1, 2);
    await h.setHealthCheck({
      check: {
        name: "prom-down",
        keys: ["cart"],
        source: { $case: "prometheus", value: { url: `http://127.0.0.1:${await freePort()}`, query: CANARY } },
        maxErrorRate: 0.1,
        failuresToAct: 1,
      },
    });
    const s = await waitState(h, "cart", "prom-down", () => true);
    expect(s.verdict).toBe(Verdict.VERDICT_INCONCLUSIVE);
    expect(s.detail).not.toBe("");
    for (const t of await ticks(h, "cart", "prom-down", 3)) expect(t.verdict).toBe(Verdict.VERDICT_INCONCLUSIVE);
    expect(await latest(c, "cart")).toMatchObject({ revision: rollout.revision, kind: RecordKind.RECORD_KIND_SET });
  });
});
