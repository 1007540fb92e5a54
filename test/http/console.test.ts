import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { plan } from "../helpers/safety-clients.js";
import { until } from "../helpers/until.js";
import { slowSteps } from "../safety/health-helpers.js";
import { openPage, signIn, startConsoleEnv, unexpectedErrors, type ConsoleEnv, type ConsolePage } from "./console-fixture.js";

let env: ConsoleEnv;
const pages: ConsolePage[] = [];

const texts = async (p: ConsolePage, selector: string): Promise<string[]> => (await p.page.locator(selector).allTextContents()).map((t) => t.trim());
const overflow = (p: ConsolePage): Promise<number> => p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
/** A signed-in tab as the admin, its errors checked when the file ends. */
const adminTab = async (path: string, viewport?: { width: number; height: number }): Promise<ConsolePage> => {
  const p = await signIn(env, env.adminToken, path, viewport);
  pages.push(p);
  return p;
};

beforeAll(async () => {
  env = await startConsoleEnv();
  const c = env.config;
  await c.set({ key: "shop/fee", value: { pct: 1.5, cap: 30 }, author: "ana", message: "launch" });
  await c.set({ key: "shop/fee", value: { pct: 1.4, cap: 30, tiers: [1, 2] }, author: "bo", message: "cut" });
  await c.set({ key: "shop/fee", value: { pct: 1.4, cap: 25, tiers: [1, 2] }, author: "cy", message: "lower cap" });
  for (let i = 1; i <= 25; i++) await c.set({ key: "shop/limits", value: { max: i }, author: i % 2 ? "ana" : "bo", message: `limit ${i}` });
  await c.rollback({ key: "shop/limits", toVersion: 1, author: "cy", message: "back to one" });
  await c.set({ key: "shop/flag", value: true, author: "ana", message: "initial" });
  await c.set({ key: "shop/flag", value: false, author: "ana", message: "roll out", rollout: plan({ stable: true, ...slowSteps(40) }) });
  await c.set({ key: "other/x", value: 1, author: "ana" });
  for (let i = 0; i < 3; i++) await c.get({ key: "shop/fee" });
}, 60_000);

afterAll(async () => {
  // Whatever the tests did, no page hit a CSP violation or threw.
  const errors = pages.flatMap((p) => unexpectedErrors(p.errors));
  await env?.close();
  expect(errors).toEqual([]);
});

describe("signing in", () => {
  it("asks for a token, refuses a wrong one, keeps the right one in this tab's sessionStorage only, and shows who is signed in", async () => {
    const p = await openPage(env.browser);
    pages.push(p);
    await p.page.goto(`${env.base}/ui/keys?prefix=shop/`);
    await p.page.getByLabel("Access token").fill("ctm_0000000000000000_not-a-token");
    await p.page.getByRole("button", { name: "Sign in" }).click();
    const refusal = p.page.getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^Not signed in: /);
    expect(await p.page.evaluate(() => sessionStorage.length)).toBe(0);

    await p.page.getByLabel("Access token").fill(env.adminToken);
    await p.page.getByRole("button", { name: "Sign in" }).click();
    await p.page.getByTestId("whoami").waitFor();
    expect(await p.page.getByTestId("whoami").textContent()).toBe("token:bootstrap-admin · admin");
    // The page asked for keys under shop/ before signing in, and shows them now.
    await p.page.locator("tr[data-key='shop/fee']").waitFor();
    const stored = await p.page.evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length, url: location.href }));
    expect(stored).toEqual({ session: [env.adminToken], local: 0, url: `${env.base}/ui/keys?prefix=shop/` });

    // A reload keeps the tab signed in; signing out forgets the token.
    await p.page.reload();
    await p.page.getByTestId("whoami").waitFor();
    await p.page.getByRole("button", { name: "Sign out" }).click();
    await p.page.getByLabel("Access token").waitFor();
    expect(await p.page.evaluate(() => sessionStorage.length)).toBe(0);
    await p.context.close();
  });
});

describe("keys", () => {
  it("lists the keys under a prefix with value, version, author, last change, rollout and reads", async () => {
    const p = await adminTab("/ui/keys");
    await p.page.locator("tr[data-key='other/x']").waitFor();
    await p.page.getByLabel("Prefix").fill("shop/");
    await p.page.getByLabel("Prefix").press("Enter");
    await p.page.waitForURL(`${env.base}/ui/keys?prefix=shop%2F`);
    await p.page.locator("tr[data-key='other/x']").waitFor({ state: "detached" });
    // The old rows go before the new ones come: wait for the new list, then read all of it.
    await p.page.locator("tr[data-key='shop/limits']").waitFor();
    expect(await texts(p, "tbody tr th")).toEqual(["shop/fee", "shop/flag", "shop/limits"]);
    const fee = p.page.locator("tr[data-key='shop/fee']");
    const cell = async (label: string) => (await fee.locator(`td[data-label='${label}']`).textContent())?.trim();
    expect(await cell("Value")).toBe('{"pct":1.4,"cap":25,"tiers":[1,2]}');
    expect(await cell("Version")).toBe("v3");
    expect(await cell("Author")).toBe("cy (token:bootstrap-admin)");
    expect(await cell("Last change")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTCset: lower cap$/);
    expect(await cell("Rollout")).toBe("—");
    expect(await cell("Reads")).toMatch(/^3last \d{4}-/);
    expect(await p.page.locator("tr[data-key='shop/flag'] td[data-label='Rollout']").textContent()).toBe("rolling out");

    // The key's link opens its page without reloading the console.
    await p.page.evaluate(() => ((window as unknown as { kept: boolean }).kept = true));
    await p.page.getByRole("link", { name: "shop/fee" }).click();
    await p.page.getByRole("heading", { level: 1, name: "shop/fee" }).waitFor();
    expect(await p.page.evaluate(() => (window as unknown as { kept?: boolean }).kept)).toBe(true);
    await p.context.close();
  });
});

describe("a key's page", () => {
  it("reads the timeline: every record with who, when, why, kind and cause, newest first, paged", async () => {
    const p = await adminTab("/ui/key/shop/limits");
    const records = p.page.locator("#timeline li.record");
    await records.first().waitFor();
    expect(await records.count()).toBe(20);
    const newest = records.first();
    expect(await newest.getAttribute("data-version")).toBe("26");
    expect(await newest.locator(".badge.kind").textContent()).toBe("rollback");
    expect(await newest.locator(".fact").allTextContents()).toEqual(["restores v1"]);
    expect(await newest.locator(".who").textContent()).toBe("cy (token:bootstrap-admin)");
    expect(await newest.locator(".why").textContent()).toBe("back to one");
    await p.page.getByRole("button", { name: "Older records" }).click();
    await records.nth(25).waitFor();
    expect(await records.count()).toBe(26);
    expect(await p.page.getByRole("button", { name: "Older records" }).isHidden()).toBe(true);
    const versions = await records.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-version"))));
    expect(versions).toEqual(Array.from({ length: 26 }, (_, i) => 26 - i));
    const oldest = records.last();
    expect([await oldest.locator(".why").textContent(), await oldest.locator(".who").textContent()]).toEqual(["limit 1", "ana (token:bootstrap-admin)"]);
    await oldest.getByText("Value").click();
    expect(await oldest.locator("pre").textContent()).toBe('{\n  "max": 1\n}');
    await p.context.close();
  });

  it("diffs two versions side by side, marking what the JSON Patch changed in each column", async () => {
    const p = await adminTab("/ui/key/shop/fee");
    const diff = p.page.getByTestId("diff");
    // By default: the previous version against the current one.
    await diff.waitFor();
    expect(await texts(p, "[data-testid=diff] figcaption")).toEqual([expect.stringMatching(/^v2 · bo/), expect.stringMatching(/^v3 · cy/)]);

    await p.page.getByLabel("From version").fill("1");
    await p.page.getByLabel("To version").fill("2");
    await p.page.getByRole("button", { name: "Compare", exact: true }).click();
    await p.page.locator("[data-testid=diff] figcaption").first().filter({ hasText: /^v1 · ana/ }).waitFor();
    const from = p.page.locator("[data-testid=diff] .from li");
    const to = p.page.locator("[data-testid=diff] .to li");
    expect(await from.locator("code").allTextContents()).toEqual(["{", '  "pct": 1.5,', '  "cap": 30', "}"]);
    expect(await p.page.locator("[data-testid=diff] .from li.del code").allTextContents()).toEqual(['  "pct": 1.5,']);
    expect(await to.locator("code").allTextContents()).toEqual(["{", '  "pct": 1.4,', '  "cap": 30,', '  "tiers": [', "    1,", "    2", "  ]", "}"]);
    expect(await p.page.locator("[data-testid=diff] .to li.add code").allTextContents()).toEqual(['  "pct": 1.4,', '  "tiers": [', "    1,", "    2", "  ]"]);
    expect(await texts(p, ".ops li")).toEqual(["replace /pct → 1.4", "add /tiers → [1,2]"]);

    // From the timeline: "Compare with v2" shows v2 → v3 and takes focus to the diff.
    await p.page.locator("#timeline li.record[data-version='3']").getByRole("button", { name: "Compare with v2" }).click();
    await p.page.locator("[data-testid=diff] figcaption").first().filter({ hasText: /^v2 · bo/ }).waitFor();
    expect(await p.page.locator("[data-testid=diff] .to li.add code").allTextContents()).toEqual(['  "cap": 25,']);
    expect(await p.page.evaluate(() => document.activeElement?.id)).toBe("diff-title");
    await p.context.close();
  });

  it("blames the current value: which version set each leaf", async () => {
    const p = await adminTab("/ui/key/shop/fee");
    await p.page.locator(".blame-table tbody tr").first().waitFor();
    const rows = await p.page.locator(".blame-table tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 4).map((c) => c.textContent)));
    expect(rows).toEqual([
      ["/pct", "1.4", "v2", "bo (token:bootstrap-admin)"],
      ["/cap", "25", "v3", "cy (token:bootstrap-admin)"],
      ["/tiers/0", "1", "v2", "bo (token:bootstrap-admin)"],
      ["/tiers/1", "2", "v2", "bo (token:bootstrap-admin)"],
    ]);
    await p.context.close();
  });

  it("says when a value has more leaves than one blame answer lists", async () => {
    await env.config.set({ key: "wide/list", value: Array.from({ length: 10_050 }, (_, i) => i), author: "ana" });
    const p = await adminTab("/ui/key/wide/list");
    await p.page.getByTestId("blame-truncated").waitFor();
    expect(await p.page.getByTestId("blame-truncated").textContent()).toBe("The first 10000 leaves; the value has more (ctm blame --path narrows it).");
    expect(await p.page.locator(".blame-table tbody tr").count()).toBe(10_000);
    await p.context.close();
  });

  it("travels in time with the keyboard: the cursor steps over the record times and ctmd answers the value and the snapshot then", async () => {
    const history = (await env.config.history({ key: "shop/fee" })).entries.reverse();
    const p = await adminTab("/ui/key/shop/fee");
    const version = p.page.getByTestId("tt-version");
    await version.filter({ hasText: /^v3$/ }).waitFor();
    const cursor = p.page.getByLabel("Cursor over the record times");
    await cursor.focus();
    await cursor.press("Home");
    await version.filter({ hasText: /^v1$/ }).waitFor();
    expect(await p.page.getByTestId("tt-value-text").textContent()).toBe('{\n  "pct": 1.5,\n  "cap": 30\n}');
    expect(await p.page.getByLabel("Moment (RFC 3339, UTC)").inputValue()).toBe(history[0]!.time!.toISOString());
    expect(await cursor.getAttribute("aria-valuetext")).toMatch(/^v1, \d{4}-/);
    // The snapshot of shop/ then held only shop/fee, at version 1.
    await p.page.getByTestId("tt-snapshot").getByText(`at revision ${history[0]!.revision}.`).waitFor();
    expect(await texts(p, "[data-testid=tt-snapshot] tbody th")).toEqual(["shop/fee"]);

    await cursor.press("ArrowRight");
    await version.filter({ hasText: /^v2$/ }).waitFor();
    expect(await p.page.getByTestId("tt-value-text").textContent()).toBe('{\n  "pct": 1.4,\n  "cap": 30,\n  "tiers": [\n    1,\n    2\n  ]\n}');
    await cursor.press("End");
    await version.filter({ hasText: /^v3$/ }).waitFor();

    // A typed moment between v1 and v2 is answered with v1; one before the first record is out of range.
    const between = new Date(history[1]!.time!.getTime() - 1).toISOString();
    if (between > history[0]!.time!.toISOString()) {
      await p.page.getByLabel("Moment (RFC 3339, UTC)").fill(between);
      await p.page.getByRole("button", { name: "Travel" }).click();
      await version.filter({ hasText: /^v1$/ }).waitFor();
    }
    await p.page.getByLabel("Moment (RFC 3339, UTC)").fill("2001-01-01T00:00:00Z");
    await p.page.getByRole("button", { name: "Travel" }).click();
    const refusal = p.page.getByTestId("tt-value").getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^Out of range: at\.time: 2001-01-01T00:00:00\.000Z is before the first record/);
    await p.context.close();
  });

  it("shows a change made through gRPC without reloading", async () => {
    await env.config.set({ key: "live/k", value: "one", author: "ana", message: "first" });
    const keys = await adminTab("/ui/keys?prefix=live/");
    const p = await adminTab("/ui/key/live/k");
    await p.page.getByTestId("current-version").filter({ hasText: /^v1$/ }).waitFor();
    await p.page.locator(".live[data-state='live']").waitFor();
    await keys.page.locator(".live[data-state='live']").waitFor();
    for (const t of [p, keys]) await t.page.evaluate(() => ((window as unknown as { kept: boolean }).kept = true));

    await env.config.set({ key: "live/k", value: "two", author: "bo", message: "second" });
    await env.config.set({ key: "live/new", value: 1, author: "bo", message: "another key" });
    await p.page.getByTestId("current-version").filter({ hasText: /^v2$/ }).waitFor();
    expect(await p.page.getByTestId("current-value").textContent()).toBe('"two"');
    expect(await p.page.locator("#timeline li.record").first().locator(".why").textContent()).toBe("second");
    await keys.page.locator("tr[data-key='live/new']").waitFor();
    expect(await keys.page.locator("tr[data-key='live/k'] td[data-label='Version']").textContent()).toBe("v2");
    for (const t of [p, keys]) expect(await t.page.evaluate(() => (window as unknown as { kept?: boolean }).kept)).toBe(true);
    await p.context.close();
    await keys.context.close();
  });

  it("rolls back from the page; History through gRPC has the new version, with the reason and the principal", async () => {
    await env.config.set({ key: "rb/k", value: { on: false }, author: "ana", message: "off" });
    await env.config.set({ key: "rb/k", value: { on: true }, author: "bo", message: "on" });
    const p = await adminTab("/ui/key/rb/k");
    const v1 = p.page.locator("#timeline li.record[data-version='1']");
    await v1.getByRole("button", { name: "Roll back to v1" }).click();
    const dialog = p.page.getByRole("dialog", { name: "Roll rb/k back to v1" });
    await dialog.getByLabel("Reason (recorded as the message)").fill("on broke checkout");
    await dialog.getByRole("button", { name: "Roll back to v1" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await p.page.getByTestId("report").textContent()).toBe("Rolled back: v3 restores v1.");
    const head = (await env.config.history({ key: "rb/k", limit: 1 })).entries[0]!;
    expect(head).toMatchObject({ version: 3, kind: RecordKind.RECORD_KIND_ROLLBACK, rolledBackTo: 1, value: { on: false }, message: "on broke checkout", author: "token:bootstrap-admin", principal: "token:bootstrap-admin" });
    // The page shows it too, from the event stream.
    await p.page.getByTestId("current-version").filter({ hasText: /^v3$/ }).waitFor();
    await p.context.close();
  });
});

describe("activity", () => {
  it("lists the newest changes across keys, filtered by author, prefix and kind", async () => {
    await env.config.set({ key: "act/a", value: 1, author: "dora", message: "a1" });
    await env.config.set({ key: "act/b", value: 1, author: "eve", message: "b1" });
    await env.config.set({ key: "act/a", value: 2, author: "dora", message: "a2" });
    await env.config.rollback({ key: "act/a", author: "eve", message: "undo a2" });
    const p = await adminTab("/ui/activity");
    const records = p.page.locator("ol.records li.record");
    await records.first().waitFor();
    expect(await records.first().locator(".key").textContent()).toBe("act/a");

    await p.page.getByLabel("Author").fill("dora");
    await p.page.getByRole("button", { name: "Apply filters" }).click();
    await p.page.waitForURL(`${env.base}/ui/activity?author=dora`);
    await records.first().waitFor();
    const shown = async () => records.evaluateAll((lis) => lis.map((li) => `${li.querySelector(".key")?.textContent} v${li.getAttribute("data-version")} ${li.querySelector(".why")?.textContent}`));
    expect(await shown()).toEqual(["act/a v2 a2", "act/a v1 a1"]);

    await p.page.getByLabel("Author").fill("");
    await p.page.getByLabel("Key prefix").fill("act/");
    await p.page.getByLabel("rollback", { exact: true }).check();
    await p.page.getByRole("button", { name: "Apply filters" }).click();
    await p.page.waitForURL(`${env.base}/ui/activity?prefix=act%2F&kind=rollback`);
    await records.first().waitFor();
    expect(await shown()).toEqual(["act/a v3 undo a2"]);

    // The filtered list stays current: a matching change appears, others do not.
    await env.config.set({ key: "act/b", value: 2, author: "eve", message: "not a rollback" });
    await env.config.rollback({ key: "act/b", author: "eve", message: "undo b2" });
    await records.nth(1).waitFor();
    expect(await shown()).toEqual(["act/b v3 undo b2", "act/a v3 undo a2"]);
    await p.context.close();
  });

  it("answers which config a request got, by request id", async () => {
    const got = await env.config.get({ key: "shop/flag", context: { unitId: "user-7", requestId: "req-console-7", environment: "", attributes: {} } });
    // The access log is written in batches: wait until the record is in, through the API.
    await until("the access record is logged", async () => {
      const r = await fetch(`${env.base}/api/ctm.v1.AccessLogService/QueryAccessLog`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${env.adminToken}` }, body: JSON.stringify({ requestId: "req-console-7" }) });
      return ((await r.json()) as { records?: unknown[] }).records?.length === 1;
    });
    const p = await adminTab("/ui/activity");
    await p.page.getByLabel("Request id").fill("req-console-7");
    await p.page.getByRole("button", { name: "Look up" }).click();
    const row = p.page.getByTestId("access-result").locator("tbody tr");
    await row.waitFor();
    const cells = await row.evaluate((tr) => Object.fromEntries([...tr.children].map((c) => [c.getAttribute("data-label"), c.textContent])));
    expect(cells).toMatchObject({ Key: "shop/flag", Version: `v${got.entry!.version} (rev ${got.entry!.revision})`, Variant: got.variant, Unit: "user-7", Source: "ctmd" });
    await p.page.getByLabel("Request id").fill("req-nobody-sent");
    await p.page.getByRole("button", { name: "Look up" }).click();
    await p.page.getByText("No access record for request “req-nobody-sent”.", { exact: false }).waitFor();
    await p.context.close();
  });
});

describe("layout", () => {
  it("has no horizontal overflow at phone width (390 px) or at 1280×800", async () => {
    for (const viewport of [{ width: 390, height: 844 }, { width: 1280, height: 800 }]) {
      const p = await adminTab("/ui/keys", viewport);
      await p.page.locator("tr[data-key='shop/fee']").waitFor();
      expect(["keys", viewport.width, await overflow(p)]).toEqual(["keys", viewport.width, 0]);
      await p.page.getByRole("link", { name: "shop/flag" }).click();
      await p.page.locator("svg.rollout-chart").waitFor();
      await p.page.getByTestId("diff").waitFor();
      expect(["key", viewport.width, await overflow(p)]).toEqual(["key", viewport.width, 0]);
      await p.page.getByRole("link", { name: "Activity" }).click();
      await p.page.locator("ol.records li.record").first().waitFor();
      expect(["activity", viewport.width, await overflow(p)]).toEqual(["activity", viewport.width, 0]);
      await p.context.close();
    }
  });

  it("is usable with the keyboard: a skip link, labelled controls and a visible focus ring", async () => {
    const p = await adminTab("/ui/keys");
    await p.page.locator("tr[data-key='shop/fee']").waitFor();
    await p.page.keyboard.press("Tab");
    expect(await p.page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await p.page.keyboard.press("Enter");
    expect(await p.page.evaluate(() => document.activeElement?.id)).toBe("main");
    // Tab onwards reaches the prefix field; its focus ring is drawn.
    await p.page.getByLabel("Prefix").focus();
    await p.page.keyboard.press("Tab");
    const ring = await p.page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect([await p.page.evaluate(() => document.activeElement?.textContent), ring]).toEqual(["List keys", "solid"]);
    // Every input on the busiest page has a label.
    await p.page.getByRole("link", { name: "shop/flag" }).click();
    await p.page.locator("svg.rollout-chart").waitFor();
    const unlabelled = await p.page.evaluate(() => [...document.querySelectorAll("input, select, textarea")].filter((i) => (i as HTMLInputElement).labels?.length === 0 && !i.getAttribute("aria-label")).map((i) => i.outerHTML));
    expect(unlabelled).toEqual([]);
    await p.context.close();
  });
});
