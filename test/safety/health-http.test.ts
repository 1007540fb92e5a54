import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Verdict } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { Reason } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { healthApi, seconds } from "../helpers/safety-clients.js";
import { latest, rollOut, stateOf, ticks, waitKind, waitState } from "./health-helpers.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A real local service: answers `status` to GET /healthz and counts the probes. */
async function service() {
  const s = { status: 200, probes: 0, paths: new Set<string>(), server: undefined as unknown as Server, url: "" };
  s.server = createServer((req, res) => {
    s.probes++;
    s.paths.add(`${req.method} ${req.url}`);
    res.writeHead(s.status, { "content-type": "text/plain" }).end(s.status === 200 ? "ok\n" : "boom\n");
  });
  await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/healthz`;
  cleanups.push(() => new Promise<void>((resolve) => s.server.close(() => resolve())));
  return s;
}

describe("an HTTP probe health check against a real local server", () => {
  it("200s are healthy; when the server starts answering 500 the rollout is rolled back", async () => {
    const svc = await service();
    const daemon = await Daemon.start({ args: ["--health-interval-ms", "100"] });
    const client = connect(daemon.address);
    const h = healthApi(daemon.address);
    cleanups.push(() => daemon.dispose(), () => client.close(), () => h.client.close());
    const c = api(client);

    const rollout = await rollOut(c, "api/new-endpoint", false, true);
    await h.setHealthCheck({
      check: { name: "endpoint-probe", keys: ["api/*"], source: { $case: "http", value: { url: svc.url } }, maxErrorRate: 0.3, minSamples: 3, failuresToAct: 2, window: seconds(2) },
    });
    // expect_status defaults to 200.
    expect((await h.listHealthChecks({ key: "api/new-endpoint" })).checks[0]!.source).toEqual({ $case: "http", value: { url: svc.url, expectStatus: 200, maxLatency: undefined } });

    const healthy = await waitState(h, "api/new-endpoint", "endpoint-probe", (s) => s.verdict === Verdict.VERDICT_HEALTHY);
    expect(healthy).toMatchObject({ canaryErrorRate: 0 });
    expect(healthy.canarySamples).toBeGreaterThanOrEqual(3);
    for (const s of await ticks(h, "api/new-endpoint", "endpoint-probe", 5)) expect(s).toMatchObject({ verdict: Verdict.VERDICT_HEALTHY, canaryErrorRate: 0 });
    expect(await latest(c, "api/new-endpoint")).toMatchObject({ revision: rollout.revision, kind: RecordKind.RECORD_KIND_SET });
    expect(svc.probes).toBeGreaterThanOrEqual(8);
    expect([...svc.paths]).toEqual(["GET /healthz"]);

    const probesBefore = svc.probes;
    svc.status = 500;
    const rb = await waitKind(c, "api/new-endpoint", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    expect(svc.probes).toBeGreaterThan(probesBefore);
    expect(rb).toMatchObject({ value: false, author: "health:endpoint-probe", cause: "health" });
    const m = /^auto-rollback by health check "endpoint-probe": canary error rate (\d+\.\d\d)% > threshold 30\.00% \((\d+) samples\);.*; restored false$/.exec(rb.message);
    expect(m, rb.message).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(30);
    expect(await c.get({ key: "api/new-endpoint", context: { unitId: "u1", environment: "", attributes: {}, requestId: "" } })).toMatchObject({
      value: false,
      reason: Reason.REASON_ROLLED_BACK,
    });
    expect(await stateOf(h, "api/new-endpoint", "endpoint-probe")).toMatchObject({ verdict: Verdict.VERDICT_BREACHED, consecutiveFailures: 2 });
  });
});
