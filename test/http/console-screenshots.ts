/**
 * Writes the console screenshots the README shows (docs/console-*.png): a real ctmd with auth on,
 * a few keys with history, a rollout that started 50 minutes ago with what its units were served,
 * and a headless Chromium. `npm run screenshots`; not part of `npm test`.
 */
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { AccessLogServiceClient } from "../../src/gen/ctm/v1/access_log_service.js";
import { HealthAction } from "../../src/gen/ctm/v1/health_check_service.js";
import * as grpc from "@grpc/grpc-js";
import { call, tokenMetadata } from "../helpers/client.js";
import { eventually, healthApi, plan, seconds } from "../helpers/safety-clients.js";
import { signIn, startConsoleEnv, type ConsoleEnv } from "./console-fixture.js";

const DOCS = resolve(import.meta.dirname, "../../docs");
const MINUTE = 60_000;

async function seed(env: ConsoleEnv): Promise<void> {
  const c = env.config;
  const ctx = (unitId: string, requestId: string) => ({ unitId, requestId, environment: "prod", attributes: {} });
  await c.set({ key: "payments/fee", value: { pct: 1.5, cap: 30 }, author: "ana", message: "launch fees" });
  await c.set({ key: "payments/fee", value: { pct: 1.4, cap: 30, tiers: [100, 1000] }, author: "bo", message: "volume tiers for merchants" });
  await c.set({ key: "payments/fee", value: { pct: 1.4, cap: 25, tiers: [100, 1000] }, author: "cy", message: "cap lowered after review" });
  await c.set({ key: "payments/currency", value: ["EUR", "USD"], author: "ana", message: "first markets" });
  await c.set({ key: "payments/currency", value: ["EUR", "USD", "GBP"], author: "dee", message: "UK launch" });
  await c.set({ key: "payments/retry", value: { attempts: 8, backoffMs: 100 }, author: "bo", message: "retry policy" });
  await c.set({ key: "payments/retry", value: { attempts: 5, backoffMs: 200 }, author: "bo", message: "fewer retries" });
  await c.rollback({ key: "payments/retry", author: "oncall", message: "timeouts up since the change" });
  await c.set({ key: "search/ranker", value: "bm25", author: "eli", message: "baseline" });
  await c.set({
    key: "checkout/flow",
    value: "one-page",
    author: "ana",
    message: "one-page checkout, A/B against two-step",
    rollout: plan({
      stable: "classic",
      percentage: { $case: "steps", value: { start: 10, increment: 15, interval: seconds(600), target: 100 } },
      variants: [
        { name: "one-page", weight: 1, value: "one-page" },
        { name: "two-step", weight: 1, value: "two-step" },
      ],
      activateAt: new Date(Date.now() - 50 * MINUTE),
      allowPastStart: true,
    }),
  });
  for (let i = 0; i < 30; i++) await c.get({ key: i % 3 ? "payments/fee" : "checkout/flow", context: ctx(`user-${i}`, `req-${1000 + i}`) });

  // What an SDK evaluating locally uploads: a minute-by-minute record of what its units got.
  const log = new AccessLogServiceClient(env.daemon.address, grpc.credentials.createInsecure());
  const start = Date.now() - 50 * MINUTE;
  for (let m = 0; m < 50; m++) {
    const pct = 10 + 15 * Math.floor(m / 10);
    const records = Array.from({ length: 60 }, (_, i) => {
      const inside = (i * 37 + m * 11) % 100 < pct;
      return { time: new Date(start + m * MINUTE + i * 900), requestId: `web-${m}-${i}`, unitId: `user-${(m * 60 + i) % 700}`, key: "checkout/flow", version: 1, revision: 0, variant: inside ? (i % 2 ? "one-page" : "two-step") : "stable", reason: 0, source: "web-sdk" };
    });
    await call(log.uploadAccessLog.bind(log), { records }, tokenMetadata(env.adminToken));
  }
  log.close();

  const health = healthApi(env.daemon.address, env.adminToken);
  await health.setHealthCheck({ check: { name: "checkout-errors", keys: ["checkout/**"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.05, minSamples: 1, failuresToAct: 5, window: seconds(60), action: HealthAction.HEALTH_ACTION_PAUSE } });
  await health.reportMetrics({ samples: [{ key: "checkout/flow", variant: "one-page", requests: 400, errors: 6 }, { key: "checkout/flow", variant: "stable", requests: 900, errors: 9 }] });
  await eventually("the health loop judged checkout/flow", async () => ((await health.getHealthHistory({ key: "checkout/flow" })).points.length >= 3 ? true : undefined));
  health.client.close();
}

async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  // The live dot settles first, so every shot shows the console as it runs.
  await page.locator(".live[data-state='live']").waitFor();
  await page.screenshot({ path: `${DOCS}/${name}`, fullPage });
  console.log(`wrote docs/${name}`);
}

const env = await startConsoleEnv(["--health-interval-ms", "500"]);
try {
  await seed(env);
  const keys = await signIn(env, env.adminToken, "/ui/keys");
  await keys.page.locator("tr[data-key='search/ranker']").waitFor();
  await shoot(keys.page, "console-keys.png");

  const key = await signIn(env, env.adminToken, "/ui/key/checkout/flow", { width: 1280, height: 1500 });
  await key.page.locator("svg.rollout-chart rect.share").first().waitFor();
  await key.page.locator("svg.rollout-chart polyline.rate.canary").waitFor({ state: "attached" });
  await shoot(key.page, "console-key.png");

  const fee = await signIn(env, env.adminToken, "/ui/key/payments/fee", { width: 1280, height: 800 });
  await fee.page.getByTestId("diff").waitFor();
  await fee.page.getByLabel("Cursor over the record times").focus();
  await fee.page.keyboard.press("Home");
  await fee.page.getByTestId("tt-version").filter({ hasText: /^v1$/ }).waitFor();
  await fee.page.locator("#diff").scrollIntoViewIfNeeded();
  await shoot(fee.page, "console-diff.png");

  const activity = await signIn(env, env.adminToken, "/ui/activity", { width: 1280, height: 1150 });
  await activity.page.getByLabel("Request id").fill("req-1003");
  await activity.page.getByRole("button", { name: "Look up" }).click();
  await activity.page.getByTestId("access-result").locator("tbody tr").waitFor();
  await activity.page.evaluate(() => scrollTo(0, 0));
  await shoot(activity.page, "console-activity.png");

  const phone = await signIn(env, env.adminToken, "/ui/keys?prefix=payments/", { width: 390, height: 844 });
  await phone.page.locator("tr[data-key='payments/fee']").waitFor();
  await shoot(phone.page, "console-phone.png");
} finally {
  await env.close();
}
