import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { Daemon } from "../helpers/daemon.js";
import { plan } from "../helpers/safety-clients.js";
import { slowSteps } from "../safety/health-helpers.js";
import { openPage, signIn, startConsoleEnv, unexpectedErrors, type ConsoleEnv, type ConsolePage } from "./console-fixture.js";

let env: ConsoleEnv;
let readerToken: string;
const pages: ConsolePage[] = [];

const readerTab = async (path: string): Promise<ConsolePage> => {
  const p = await signIn(env, readerToken, path);
  pages.push(p);
  return p;
};
const alertText = async (p: ConsolePage, scope = p.page.locator("main")): Promise<string | null> => {
  const a = scope.getByRole("alert");
  await a.first().waitFor();
  return a.first().textContent();
};

beforeAll(async () => {
  env = await startConsoleEnv();
  await env.admin.setRole({ name: "team-reader", grants: [{ verbs: [Verb.VERB_READ], keys: ["team/**"] }] });
  readerToken = await env.admin.createToken("reader", ["team-reader"]);
  const c = env.config;
  await c.set({ key: "team/a", value: "a1", author: "ana", message: "first" });
  await c.set({ key: "team/a", value: "a2", author: "bo", message: "second" });
  await c.set({ key: "team/b", value: "b1", author: "ana" });
  await c.set({ key: "team/flag", value: true, author: "ana", message: "initial" });
  await c.set({ key: "team/flag", value: false, author: "ana", message: "roll out", rollout: plan({ stable: true, ...slowSteps(30) }) });
  await c.set({ key: "secret/x", value: "hidden", author: "ana" });
}, 60_000);

afterAll(async () => {
  const errors = pages.flatMap((p) => unexpectedErrors(p.errors));
  await env?.close();
  expect(errors).toEqual([]);
});

describe("a token that may read only team/**", () => {
  it("sees its roles, is refused the whole key space with ctmd's reason, and lists its own prefix", async () => {
    const p = await readerTab("/ui/keys");
    expect(await p.page.getByTestId("whoami").textContent()).toBe("token:reader · team-reader");
    expect(await alertText(p)).toMatch(/^Permission denied: token:reader may not (read|admin) prefix "/);
    await p.page.getByLabel("Prefix").fill("team/");
    await p.page.getByRole("button", { name: "List keys" }).click();
    await p.page.locator("tr[data-key='team/a']").waitFor();
    expect(await p.page.locator("tbody tr th").allTextContents()).toEqual(["team/a", "team/b", "team/flag"]);
    // Its live updates run on the prefix it may read.
    await p.page.locator(".live[data-state='live']").waitFor();
    await p.context.close();
  });

  it("cannot open a key outside its grants: the page says permission denied and shows no value", async () => {
    const p = await readerTab("/ui/key/secret/x");
    expect(await alertText(p)).toMatch(/^Permission denied: token:reader may not read key "secret\/x"/);
    expect(await p.page.getByTestId("current-value").count()).toBe(0);
    expect(await p.page.getByText("hidden").count()).toBe(0);
    await p.context.close();
  });

  it("reads its keys but is offered no action: no rollback, no rollout control", async () => {
    const p = await readerTab("/ui/key/team/a");
    await p.page.getByTestId("current-value").filter({ hasText: '"a2"' }).waitFor();
    await p.page.locator("#timeline li.record[data-version='1']").waitFor();
    // The timeline's own buttons are there; rolling back is not.
    expect(await p.page.locator("#timeline li.record[data-version='2']").getByRole("button", { name: "Compare with v1" }).count()).toBe(1);
    expect(await p.page.getByRole("button", { name: /^Roll back/ }).count()).toBe(0);

    await p.page.goto(`${env.base}/ui/key/team/flag`);
    await p.page.getByTestId("rollout-status").waitFor();
    await p.page.locator("#timeline li.record[data-version='1']").waitFor();
    expect(await p.page.getByRole("group", { name: "Rollout controls" }).count()).toBe(0);
    expect(await p.page.getByRole("button", { name: /^(Pause|Resume|Promote|Finish|Abort|Kill|Roll back)/ }).count()).toBe(0);
    await p.context.close();
  });

  it("sees the activity of its prefix only; the access log across keys is refused", async () => {
    const p = await readerTab("/ui/activity");
    expect(await alertText(p)).toMatch(/^Permission denied: token:reader may not (read|admin) prefix "/);
    await p.page.getByLabel("Key prefix").fill("team/");
    await p.page.getByRole("button", { name: "Apply filters" }).click();
    await p.page.locator("ol.records li.record").first().waitFor();
    const keys = new Set(await p.page.locator("ol.records li.record .key").allTextContents());
    expect([...keys].sort()).toEqual(["team/a", "team/b", "team/flag"]);
    await p.page.getByLabel("Request id").fill("any");
    await p.page.getByRole("button", { name: "Look up" }).click();
    expect(await alertText(p, p.page.getByTestId("access-result"))).toMatch(/^Permission denied: token:reader may not (read|admin) prefix "/);
    await p.context.close();
  });

  it("is sent back to sign in once its token is revoked", async () => {
    const p = await readerTab("/ui/keys?prefix=team/");
    await p.page.locator("tr[data-key='team/a']").waitFor();
    await env.admin.revokeToken("reader");
    await p.page.getByRole("link", { name: "team/a" }).click();
    await p.page.getByLabel("Access token").waitFor();
    expect(await p.page.getByRole("alert").textContent()).toMatch(/^ctmd refused the token: /);
    expect(await p.page.evaluate(() => sessionStorage.length)).toBe(0);
    await p.context.close();
  });
});

describe("a token with rollout on team/** (in dev only) but not write", () => {
  it("is offered the rollout controls but no rollback; ctmd still decides, and a refusal shows in the dialog", async () => {
    await env.admin.setRole({ name: "team-operator", grants: [{ verbs: [Verb.VERB_READ], keys: ["team/**"] }, { verbs: [Verb.VERB_ROLLOUT], keys: ["team/**"], environments: ["dev"] }] });
    const p = await signIn(env, await env.admin.createToken("operator", ["team-operator"]), "/ui/key/team/flag");
    pages.push(p);
    const controls = p.page.getByRole("group", { name: "Rollout controls" });
    await controls.waitFor();
    expect(await controls.getByRole("button").allTextContents()).toEqual(["Pause", "Promote", "Finish", "Abort", "Kill"]);
    await p.page.locator("#timeline li.record[data-version='1']").waitFor();
    expect(await p.page.getByRole("button", { name: /^Roll back/ }).count()).toBe(0);

    // The plan has no rings, so promoting serves the value everywhere: beyond a dev-only grant.
    await controls.getByRole("button", { name: "Promote" }).click();
    const d = p.page.getByRole("dialog");
    await d.getByRole("button", { name: "Promote" }).click();
    expect(await alertText(p, d)).toBe('Permission denied: token:operator may not rollout key "team/flag" in every environment (a value served without rings)');
    await d.getByRole("button", { name: "Cancel" }).click();
    expect(await env.rollout.status({ key: "team/flag" })).toMatchObject({ active: true, paused: false });

    // Pausing takes exposure away: `rollout` on the key is enough.
    await controls.getByRole("button", { name: "Pause" }).click();
    await d.getByRole("button", { name: "Pause" }).click();
    await p.page.getByTestId("report").filter({ hasText: /^Pause: recorded as v\d+\.$/ }).waitFor();
    expect(await env.rollout.status({ key: "team/flag" })).toMatchObject({ active: true, paused: true });
    await p.context.close();
  });
});

describe("with auth off", () => {
  it("works without a token and says every call is allowed", async () => {
    const open = await Daemon.start();
    try {
      const p = await openPage(env.browser);
      pages.push(p);
      for (const value of [1, 2]) {
        await fetch(`http://${open.http}/api/ctm.v1.ConfigService/Set`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: "open/k", value, author: "ana" }) });
      }
      await p.page.goto(`http://${open.http}/ui/`);
      await p.page.locator("tr[data-key='open/k']").waitFor();
      expect(await p.page.getByTestId("whoami").textContent()).toBe("auth off: every call is allowed");
      expect(await p.page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
      expect(await p.page.getByLabel("Access token").count()).toBe(0);
      // Every action is offered.
      await p.page.getByRole("link", { name: "open/k" }).click();
      await p.page.locator("#timeline li.record[data-version='1']").getByRole("button", { name: "Roll back to v1" }).waitFor();
      await p.context.close();
    } finally {
      await open.dispose();
    }
  });
});
