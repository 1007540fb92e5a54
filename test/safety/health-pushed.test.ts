import { afterEach, describe, expect, it } from "vitest";
import { HealthAction, Verdict } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { Reason } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect, headRevision, rolloutApi } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { eventually, healthApi, metricsAddress, scrape, seconds } from "../helpers/safety-clients.js";
import { WatchStream } from "../helpers/watch-stream.js";
import { latest, rollOut, stateOf, ticks, waitKind, waitState } from "./health-helpers.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(args: string[] = []) {
  const daemon = await Daemon.start({ args: ["--health-interval-ms", "100", ...args] });
  const client = connect(daemon.address);
  const h = healthApi(daemon.address);
  const r = rolloutApi(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close(), () => h.client.close(), () => r.client.close());
  return { daemon, client, c: api(client), h, r };
}

const pushed = { $case: "pushed" as const, value: {} };
const ctx = (unitId: string) => ({ unitId, environment: "", attributes: {}, requestId: "" });

describe("health checks with pushed metrics drive rollbacks through the real daemon", () => {
  it("a healthy canary is left alone; bad canary errors roll back to stable, visibly everywhere", async () => {
    const { daemon, client, c, h } = await setup();
    const rollout = await rollOut(c, "checkout", "v1", "v2");
    const set = await h.setHealthCheck({
      check: { name: "checkout-errors", keys: ["checkout"], source: pushed, maxErrorRate: 0.1, minSamples: 20, failuresToAct: 2, window: seconds(60) },
      author: "sre",
    });
    expect(set.entry).toMatchObject({ key: "_ctm/health/checkout-errors", version: 1, author: "sre" });

    await h.reportMetrics({
      samples: [
        { key: "checkout", variant: "new", requests: 100, errors: 2 },
        { key: "checkout", variant: "stable", requests: 100, errors: 1 },
      ],
    });
    const healthy = await waitState(h, "checkout", "checkout-errors", (s) => s.verdict === Verdict.VERDICT_HEALTHY);
    expect(healthy).toMatchObject({ canaryErrorRate: 0.02, stableErrorRate: 0.01, canarySamples: 100, stableSamples: 100, consecutiveFailures: 0 });
    expect(healthy.detail).toBe("canary error rate 2.00% within limits");
    // Judged healthy on several more ticks, and nothing was written.
    for (const s of await ticks(h, "checkout", "checkout-errors", 5)) expect(s.verdict).toBe(Verdict.VERDICT_HEALTHY);
    expect(await latest(c, "checkout")).toMatchObject({ revision: rollout.revision, kind: RecordKind.RECORD_KIND_SET });

    const watch = new WatchStream(client, { key: "checkout", startRevision: (await headRevision(client)) + 1 });
    cleanups.push(() => watch.cancel());
    await h.reportMetrics({ samples: [{ key: "checkout", variant: "new", requests: 100, errors: 60 }] });

    // Canary: 200 requests, 62 errors in the window = 31%.
    const rb = await waitKind(c, "checkout", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    expect(rb).toMatchObject({ key: "checkout", version: 3, value: "v1", author: "health:checkout-errors", cause: "health", deleted: false });
    expect(rb.rollout).toBeUndefined();
    expect(rb.message).toBe(
      'auto-rollback by health check "checkout-errors": canary error rate 31.00% > threshold 10.00% (200 samples); ' +
        'canary 31.00% over 200 samples, stable 1.00% over 100; threshold 10.00%; restored "v1"',
    );

    // Everyone is served the stable value.
    const g = await c.get({ key: "checkout" });
    expect(g).toMatchObject({ value: "v1", reason: Reason.REASON_ROLLED_BACK });
    for (const u of ["user-1", "user-2", "user-3", "alice"]) expect((await c.get({ key: "checkout", context: ctx(u) })).value).toBe("v1");

    // The Watch subscriber sees the record.
    await watch.until(() => watch.events.length >= 1);
    expect(watch.events[0]).toMatchObject({ revision: rb.revision, kind: RecordKind.RECORD_KIND_AUTO_ROLLBACK, author: "health:checkout-errors", cause: "health", value: "v1" });

    // History and Blame name the check.
    const hist = await c.history({ key: "checkout" });
    expect(hist.entries.map((e) => [e.version, e.kind, e.author])).toEqual([
      [3, RecordKind.RECORD_KIND_AUTO_ROLLBACK, "health:checkout-errors"],
      [2, RecordKind.RECORD_KIND_SET, "ana"],
      [1, RecordKind.RECORD_KIND_SET, "ana"],
    ]);
    const blame = await c.blame({ key: "checkout" });
    expect(blame.lines).toEqual([expect.objectContaining({ path: "", value: "v1", version: 3, author: "health:checkout-errors" })]);

    // The verdict says it acted; the counter moved.
    const s = await stateOf(h, "checkout", "checkout-errors");
    expect(s).toMatchObject({ verdict: Verdict.VERDICT_BREACHED, canaryErrorRate: 0.31, canarySamples: 200, consecutiveFailures: 2 });
    const m = await scrape(metricsAddress(daemon));
    expect(m.value("ctm_auto_rollbacks_total", { check: "checkout-errors", action: "rollback" })).toBe(1);
  });

  it("too few samples is inconclusive (no action even at 100% errors) until min_samples is reached", async () => {
    const { c, h } = await setup();
    const rollout = await rollOut(c, "few", 1, 2);
    await h.setHealthCheck({ check: { name: "few-check", keys: ["few"], source: pushed, maxErrorRate: 0.1, minSamples: 50, failuresToAct: 2, window: seconds(60) } });
    await h.reportMetrics({ samples: [{ key: "few", variant: "new", requests: 10, errors: 10 }] });

    const s = await waitState(h, "few", "few-check", (x) => x.canarySamples === 10);
    expect(s).toMatchObject({ verdict: Verdict.VERDICT_INCONCLUSIVE, canaryErrorRate: 1, consecutiveFailures: 0, detail: "10 canary samples, fewer than 50" });
    for (const t of await ticks(h, "few", "few-check", 6)) expect(t.verdict).toBe(Verdict.VERDICT_INCONCLUSIVE);
    expect(await latest(c, "few")).toMatchObject({ revision: rollout.revision, kind: RecordKind.RECORD_KIND_SET });

    // 40 good requests more: 50 samples, 10 errors = 20% > 10%, and now it acts.
    await h.reportMetrics({ samples: [{ key: "few", variant: "new", requests: 40, errors: 0 }] });
    const rb = await waitKind(c, "few", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    expect(rb).toMatchObject({ value: 1, author: "health:few-check", cause: "health" });
    expect(rb.message).toContain("canary error rate 20.00% > threshold 10.00% (50 samples)");
  });

  it("compares canary with stable when both have data (max_increase)", async () => {
    const { c, h } = await setup();
    await rollOut(c, "cmp", "old", "new");
    const solo = await rollOut(c, "cmp-solo", "old", "new");
    await h.setHealthCheck({
      check: { name: "cmp-check", keys: ["cmp", "cmp-solo"], source: pushed, maxErrorRate: 0.5, maxIncrease: 0.02, minSamples: 100, failuresToAct: 2, window: seconds(60) },
    });
    // cmp: canary 6% vs stable 5%, within 2 points. cmp-solo: canary 12% with no stable data, so no comparison.
    await h.reportMetrics({
      samples: [
        { key: "cmp", variant: "stable", requests: 1000, errors: 50 },
        { key: "cmp", variant: "new", requests: 1000, errors: 60 },
        { key: "cmp-solo", variant: "new", requests: 1000, errors: 120 },
      ],
    });
    const ok = await waitState(h, "cmp", "cmp-check", (s) => s.canarySamples === 1000);
    expect(ok).toMatchObject({ verdict: Verdict.VERDICT_HEALTHY, canaryErrorRate: 0.06, stableErrorRate: 0.05, stableSamples: 1000 });
    const soloState = await waitState(h, "cmp-solo", "cmp-check", (s) => s.canarySamples === 1000);
    expect(soloState).toMatchObject({ verdict: Verdict.VERDICT_HEALTHY, canaryErrorRate: 0.12, stableSamples: 0 });
    for (const t of await ticks(h, "cmp", "cmp-check", 5)) expect(t.verdict).toBe(Verdict.VERDICT_HEALTHY);
    expect((await latest(c, "cmp")).kind).toBe(RecordKind.RECORD_KIND_SET);

    // cmp's canary: 2000 requests, 240 errors = 12% vs stable 5%: 7 points over.
    await h.reportMetrics({ samples: [{ key: "cmp", variant: "new", requests: 1000, errors: 180 }] });
    const rb = await waitKind(c, "cmp", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    expect(rb).toMatchObject({ value: "old", author: "health:cmp-check", cause: "health" });
    expect(rb.message).toBe(
      'auto-rollback by health check "cmp-check": canary error rate 12.00% exceeds stable 5.00% by more than 2.00%; ' +
        'canary 12.00% over 2000 samples, stable 5.00% over 1000; threshold 50.00%, max increase 2.00%; restored "old"',
    );
    // cmp-solo's 12% was judged in the same ticks: still rolling, still healthy.
    expect(await latest(c, "cmp-solo")).toMatchObject({ revision: solo.revision, kind: RecordKind.RECORD_KIND_SET });
    expect(await stateOf(h, "cmp-solo", "cmp-check")).toMatchObject({ verdict: Verdict.VERDICT_HEALTHY, canaryErrorRate: 0.12 });
  });

  it("action PAUSE pauses the rollout instead, and keeps it paused rather than rolling back", async () => {
    const { daemon, c, h, r } = await setup();
    await rollOut(c, "search", "v1", "v2");
    // A second, healthy key: its check's ticks count the health loop's passes.
    await rollOut(c, "search-ticker", 0, 1);
    await h.setHealthCheck({ check: { name: "ticker", keys: ["search-ticker"], source: pushed, maxErrorRate: 1, minSamples: 1, failuresToAct: 1 } });
    await h.reportMetrics({ samples: [{ key: "search-ticker", variant: "new", requests: 1, errors: 0 }] });
    await h.setHealthCheck({
      check: { name: "search-pause", keys: ["search"], source: pushed, maxErrorRate: 0.05, minSamples: 10, failuresToAct: 2, window: seconds(60), action: HealthAction.HEALTH_ACTION_PAUSE },
    });
    expect((await h.listHealthChecks({ key: "search" })).checks[0]).toMatchObject({ name: "search-pause", action: HealthAction.HEALTH_ACTION_PAUSE, failuresToAct: 2 });
    await h.reportMetrics({ samples: [{ key: "search", variant: "new", requests: 100, errors: 50 }] });

    const paused = await waitKind(c, "search", RecordKind.RECORD_KIND_ROLLOUT_PAUSED);
    expect(paused).toMatchObject({ version: 3, value: "v2", author: "health:search-pause", cause: "health" });
    expect(paused.message).toContain('paused by health check "search-pause": canary error rate 50.00% > threshold 5.00% (100 samples)');
    expect(paused.rollout!.state!.paused).toBe(true);
    expect(await r.status({ key: "search" })).toMatchObject({ active: true, paused: true, percentage: 50 });

    // The errors go on for six more passes of the loop (failures_to_act is 2): the
    // check keeps judging the paused rollout as failing, but it stays paused.
    await ticks(h, "search-ticker", "ticker", 6);
    expect(await latest(c, "search")).toMatchObject({ revision: paused.revision, kind: RecordKind.RECORD_KIND_ROLLOUT_PAUSED });
    const still = await stateOf(h, "search", "search-pause");
    expect([Verdict.VERDICT_FAILING, Verdict.VERDICT_BREACHED]).toContain(still!.verdict);
    expect(still!.checkedAt!.getTime()).toBeGreaterThan(paused.time!.getTime());
    const m = await scrape(metricsAddress(daemon));
    expect(m.value("ctm_auto_rollbacks_total", { check: "search-pause", action: "pause" })).toBe(1);
    expect(m.value("ctm_auto_rollbacks_total", { check: "search-pause", action: "rollback" })).toBe(0);
  });

  it("after a rollout finalizes, checks keep running for bake_time; a breach while baking restores the previous stable", async () => {
    const { c, h } = await setup(["--scheduler-interval-ms", "100"]);
    const fast = { percentage: { $case: "steps" as const, value: { start: 50, increment: 50, interval: seconds(1), target: 100 } } };
    // A third key keeps rolling: its check's ticks count the health loop's passes.
    await rollOut(c, "bake/ticker", 0, 1);
    await h.setHealthCheck({ check: { name: "ticker", keys: ["bake/ticker"], source: pushed, maxErrorRate: 1, minSamples: 1, failuresToAct: 1 } });
    await h.setHealthCheck({ check: { name: "bake-long", keys: ["bake/long"], source: pushed, maxErrorRate: 0.1, minSamples: 10, failuresToAct: 2, bakeTime: seconds(60) } });
    await h.setHealthCheck({ check: { name: "bake-short", keys: ["bake/short"], source: pushed, maxErrorRate: 0.1, minSamples: 10, failuresToAct: 2, bakeTime: seconds(1) } });
    await h.reportMetrics({
      samples: [
        { key: "bake/ticker", variant: "new", requests: 1, errors: 0 },
        { key: "bake/long", variant: "new", requests: 100, errors: 1 },
        { key: "bake/short", variant: "new", requests: 100, errors: 1 },
      ],
    });
    await rollOut(c, "bake/long", "v1", "v2", fast);
    await rollOut(c, "bake/short", "v1", "v2", fast);
    expect((await waitState(h, "bake/long", "bake-long", () => true)).verdict).toBe(Verdict.VERDICT_HEALTHY);

    const longFinal = await waitKind(c, "bake/long", RecordKind.RECORD_KIND_ROLLOUT_FINALIZED);
    const shortFinal = await waitKind(c, "bake/short", RecordKind.RECORD_KIND_ROLLOUT_FINALIZED);
    expect(longFinal).toMatchObject({ value: "v2", author: "ctm-scheduler", cause: "scheduler" });
    expect(longFinal.rollout).toBeUndefined();

    // Baking: bake/long is still judged after its rollout finished.
    const baking = await ticks(h, "bake/long", "bake-long", 3);
    for (const s of baking) {
      expect(s.checkedAt!.getTime()).toBeGreaterThan(longFinal.time!.getTime());
      expect(s.verdict).toBe(Verdict.VERDICT_HEALTHY);
    }

    // bake/short's bake time (1s) is over; then both report bad numbers, bake/short first.
    await eventually("bake/short's bake time to pass", () => (Date.now() > shortFinal.time!.getTime() + 1500 ? true : undefined));
    await h.reportMetrics({ samples: [{ key: "bake/short", variant: "new", requests: 100, errors: 90 }] });
    await h.reportMetrics({ samples: [{ key: "bake/long", variant: "new", requests: 100, errors: 90 }] });

    const rb = await waitKind(c, "bake/long", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    expect(rb).toMatchObject({ value: "v1", author: "health:bake-long", cause: "health" });
    expect(rb.message).toContain('auto-rollback by health check "bake-long": canary error rate 45.50% > threshold 10.00% (200 samples)');
    expect(rb.message).toMatch(/restored "v1"$/);
    expect((await c.get({ key: "bake/long", context: ctx("user-1") })).value).toBe("v1");

    // Two more passes of the loop: bake/short was no longer checked, so it keeps its new value.
    await ticks(h, "bake/ticker", "ticker", 2);
    expect(await latest(c, "bake/short")).toMatchObject({ revision: shortFinal.revision, kind: RecordKind.RECORD_KIND_ROLLOUT_FINALIZED, value: "v2" });
    // Its last verdict is from before the bad numbers.
    expect(await stateOf(h, "bake/short", "bake-short")).toMatchObject({ verdict: Verdict.VERDICT_HEALTHY, canarySamples: 100 });
  });
});
