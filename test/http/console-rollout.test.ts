import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthAction } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { eventually, healthApi, plan, seconds } from "../helpers/safety-clients.js";
import { slowSteps, waitKind } from "../safety/health-helpers.js";
import { signIn, startConsoleEnv, unexpectedErrors, type ConsoleEnv, type ConsolePage } from "./console-fixture.js";

let env: ConsoleEnv;
let health: ReturnType<typeof healthApi>;
const pages: ConsolePage[] = [];

const adminTab = async (path: string): Promise<ConsolePage> => {
  const p = await signIn(env, env.adminToken, path);
  pages.push(p);
  return p;
};
/** Numbers of an SVG attribute over every element `selector` matches. */
const attrs = (p: ConsolePage, selector: string, name: string): Promise<number[]> => p.page.locator(selector).evaluateAll((els, n) => els.map((e) => Number(e.getAttribute(n))), name);

beforeAll(async () => {
  env = await startConsoleEnv(["--health-interval-ms", "100"]);
  health = healthApi(env.daemon.address, env.adminToken);
  const c = env.config;
  await c.set({ key: "ship/checkout", value: "v1", author: "ana", message: "initial" });
  await c.set({ key: "ship/checkout", value: "v2", author: "ana", message: "new checkout", rollout: plan({ stable: "v1", ...slowSteps(20) }) });
  // Units asking for it (the access log counts what each got) and a health check that sees errors.
  for (let i = 0; i < 60; i++) await c.get({ key: "ship/checkout", context: { unitId: `user-${i}`, requestId: `req-${i}`, environment: "", attributes: {} } });
  await health.setHealthCheck({ check: { name: "checkout-errors", keys: ["ship/checkout"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.5, minSamples: 1, failuresToAct: 3, window: seconds(60), action: HealthAction.HEALTH_ACTION_ROLLBACK } });
  await health.reportMetrics({ samples: [{ key: "ship/checkout", variant: "new", requests: 100, errors: 4 }, { key: "ship/checkout", variant: "stable", requests: 100, errors: 1 }] });
}, 60_000);

afterAll(async () => {
  const errors = pages.flatMap((p) => unexpectedErrors(p.errors));
  health?.client.close();
  await env?.close();
  expect(errors).toEqual([]);
});

describe("a rolling key's page", () => {
  it("draws the planned curve with its milestones, the share each variant served and the error rates on one time axis", async () => {
    await eventually("the access log and the health loop have data", async () => {
      const [s, h] = await Promise.all([
        fetch(`${env.base}/api/ctm.v1.AccessLogService/SummarizeAccessLog`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${env.adminToken}` }, body: JSON.stringify({ key: "ship/checkout" }) }).then((r) => r.json() as Promise<{ records?: string }>),
        health.getHealthHistory({ key: "ship/checkout" }),
      ]);
      return Number(s.records ?? 0) === 60 && h.points.length > 0 ? true : undefined;
    });
    const status = await env.rollout.status({ key: "ship/checkout" });
    const p = await adminTab("/ui/key/ship/checkout");
    const chart = p.page.getByRole("img", { name: "Planned percentage, share served and error rates of ship/checkout" });
    await chart.waitFor();
    expect(await p.page.getByTestId("rollout-status").textContent()).toBe(`20% · next: ${status.nextMilestone!.description} at ${status.nextMilestone!.dueTime!.toISOString().slice(0, 19).replace("T", " ")} UTC`);

    // The plan: from 20% at the start, one point per milestone, rising to 100%.
    const ys = await attrs(p, "svg.rollout-chart circle.milestone", "cy");
    expect(ys.length).toBe(status.milestones.length);
    expect([...ys].sort((a, b) => b - a)).toEqual(ys);
    const d = await p.page.locator("svg.rollout-chart path.plan").getAttribute("d");
    expect(d).toMatch(/^M52,172 /);
    expect(await p.page.locator("svg.rollout-chart circle.milestone title").first().textContent()).toBe(`${status.milestones[0]!.description}: 30%, due ${status.milestones[0]!.dueTime!.toISOString().slice(0, 19).replace("T", " ")} UTC`);
    await p.page.getByText(`Milestones (0 of ${status.milestones.length} reached)`).click();
    expect(await p.page.locator("details.milestones tbody tr").count()).toBe(status.milestones.length);

    // What units got: the access log's share of the new value, and the health loop's error rates.
    const shares = await p.page.locator("svg.rollout-chart rect.share title").allTextContents();
    expect(shares.length).toBeGreaterThan(0);
    const served = shares.map((t) => /\((\d+) of (\d+)\)$/.exec(t)!).reduce((a, m) => [a[0]! + Number(m[1]), a[1]! + Number(m[2])], [0, 0]);
    expect(served[1]).toBeLessThanOrEqual(60);
    expect(served[0]).toBeGreaterThan(0);
    await p.page.locator("svg.rollout-chart polyline.rate.canary").waitFor({ state: "attached" });
    await p.page.locator("svg.rollout-chart polyline.rate.stable").waitFor({ state: "attached" });
    expect(await p.page.locator(".legend").textContent()).toContain("canary error rate");
    await p.context.close();
  });

  it("pauses from the page; a kill and a rollback through gRPC are marked live, in order, where they happened", async () => {
    const p = await adminTab("/ui/key/ship/checkout");
    const controls = p.page.getByRole("group", { name: "Rollout controls" });
    await controls.getByRole("button", { name: "Pause" }).click();
    const dialog = p.page.getByRole("dialog", { name: "Pause the rollout of ship/checkout" });
    await dialog.getByLabel("Reason (recorded as the message)").fill("errors up");
    await dialog.getByRole("button", { name: "Pause" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await p.page.getByTestId("report").textContent()).toBe("Pause: recorded as v3.");
    expect(await env.rollout.status({ key: "ship/checkout" })).toMatchObject({ paused: true });
    const labels = p.page.locator("svg.rollout-chart text.mark-label");
    await labels.filter({ hasText: "paused" }).waitFor();
    await controls.getByRole("button", { name: "Resume" }).waitFor();

    await env.rollout.kill({ key: "ship/checkout", author: "oncall", message: "kill it" });
    await labels.filter({ hasText: "killed" }).waitFor();
    await env.config.rollback({ key: "ship/checkout", toVersion: 1, author: "oncall", message: "back to v1" });
    await labels.filter({ hasText: "rolled back" }).waitFor();
    expect(await labels.allTextContents()).toEqual(["paused", "killed", "rolled back"]);
    expect(await p.page.getByTestId("rollout-marks").locator("li").allTextContents()).toEqual([
      expect.stringMatching(/^v3 rollout paused by token:bootstrap-admin at .* UTC: errors up$/),
      expect.stringMatching(/^v4 rollout killed by oncall \(token:bootstrap-admin\) at .* UTC: kill it$/),
      expect.stringMatching(/^v5 rollback by oncall \(token:bootstrap-admin\) at .* UTC: back to v1$/),
    ]);
    expect(await p.page.getByTestId("rollout-status").textContent()).toMatch(/^Not rolling out now/);
    // The marks lie in time order between the rollout's start and now; the plan seen before stays drawn.
    const xs = await attrs(p, "svg.rollout-chart line.mark", "x1");
    const now = (await attrs(p, "svg.rollout-chart line.now", "x1"))[0]!;
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(xs[0]).toBeGreaterThanOrEqual(52);
    expect(xs.at(-1)).toBeLessThanOrEqual(now);
    expect(await p.page.locator("svg.rollout-chart circle.milestone").count()).toBeGreaterThan(0);
    await p.context.close();
  });

  it("marks a health check's auto-rollback, with the failing error rates that led to it", async () => {
    const c = env.config;
    await c.set({ key: "ship/search", value: "old", author: "ana" });
    await c.set({ key: "ship/search", value: "new", author: "ana", message: "new ranker", rollout: plan({ stable: "old", ...slowSteps(50) }) });
    await health.setHealthCheck({ check: { name: "search-errors", keys: ["ship/search"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.1, minSamples: 1, failuresToAct: 2, window: seconds(60), action: HealthAction.HEALTH_ACTION_ROLLBACK } });
    await health.reportMetrics({ samples: [{ key: "ship/search", variant: "new", requests: 100, errors: 50 }] });
    await waitKind(c, "ship/search", RecordKind.RECORD_KIND_AUTO_ROLLBACK);
    const p = await adminTab("/ui/key/ship/search");
    const labels = p.page.locator("svg.rollout-chart text.mark-label");
    await labels.first().waitFor();
    expect(await labels.allTextContents()).toEqual(["auto-rollback (health)"]);
    expect(await p.page.locator("svg.rollout-chart circle.verdict.failing").count()).toBeGreaterThan(0);
    expect(await p.page.locator("svg.rollout-chart circle.verdict.breached").count()).toBe(1);
    expect(await p.page.getByTestId("rollout-marks").textContent()).toMatch(/auto rollback by health:search-errors at .* UTC: auto-rollback by health check "search-errors"/);
    await p.context.close();
  });
});
