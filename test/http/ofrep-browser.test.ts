/**
 * The OFREP web provider in a real headless Chromium, on a page of another origin (served by
 * page.route with the providers' own ESM files from node_modules) calling a daemon with auth on
 * through CORS: bulk evaluation, per-unit answers as gRPC Get gives them, and a change reaching
 * the page through the announced event stream alone (the provider does not poll).
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { fromPbReason } from "../../src/transport/grpc/rollout-mapper.js";
import { AuthApi } from "../helpers/auth.js";
import { launchChromium } from "../helpers/chromium.js";
import { api, connect, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { plan, seconds } from "../helpers/safety-clients.js";

/**
 * A fake origin that is a secure context (*.localhost is), granted local network access: Chromium
 * lets no other page reach a loopback daemon, as it would let no public site reach one.
 */
const ORIGIN = "http://app.localhost";
const MODULES = resolve(import.meta.dirname, "../../node_modules/@openfeature");
/** Bare specifiers the providers import, and the ESM file each is served from. */
const IMPORTS: Record<string, string> = {
  "@openfeature/core": "core/dist/esm/index.js",
  "@openfeature/web-sdk": "web-sdk/dist/esm/index.js",
  // The web provider brings the ofrep-core it was built against (with event streams).
  "@openfeature/ofrep-core": "ofrep-web-provider/node_modules/@openfeature/ofrep-core/index.esm.js",
  "@openfeature/ofrep-web-provider": "ofrep-web-provider/index.esm.js",
};
const PAGE = `<!doctype html><title>ofrep</title>
<script type="importmap">${JSON.stringify({ imports: Object.fromEntries(Object.keys(IMPORTS).map((name) => [name, `/m/${name}`])) })}</script>
<script type="module">
  import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
  import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
  window.changes = [];
  window.ofrep = { OpenFeature, ProviderEvents, OFREPWebProvider };
</script>`;

let daemon: Daemon;
let client: Client;
let admin: ReturnType<typeof api>;
let token: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const requested: string[] = [];

type Details = { value: unknown; variant?: string; reason?: string; errorCode?: string; flagMetadata: Record<string, unknown> };

/** Runs `body` in the page with the SDK, the provider class and the client at hand. */
const inPage = <T>(body: string, arg?: unknown): Promise<T> =>
  page.evaluate(({ body, arg }) => new Function("ofrep", "client", "arg", `return (async () => { ${body} })()`)(
    (window as unknown as { ofrep: unknown }).ofrep,
    ((window as unknown as { ofrep: { OpenFeature: { getClient(): unknown } } }).ofrep.OpenFeature.getClient()),
    arg,
  ) as T, { body, arg });

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0", "--http-allow-origins", ORIGIN] });
  const adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  admin = api(client, adminToken);
  const auth = new AuthApi(daemon.address, adminToken);
  await auth.setRole({ name: "web", grants: [{ verbs: [Verb.VERB_READ], keys: ["web/**"] }] });
  token = await auth.createToken("web-page", ["web"]);
  auth.close();
  await admin.set({ key: "web/on", value: true });
  await admin.set({ key: "web/title", value: "Welcome" });
  await admin.set({ key: "web/max", value: 3 });
  await admin.set({ key: "web/theme", value: { color: "teal" } });
  await admin.set({
    key: "web/layout",
    value: "grid",
    rollout: plan({
      stable: "list",
      percentage: { $case: "steps", value: { start: 50, increment: 10, interval: seconds(86_400), target: 100 } },
      variants: [
        { name: "grid", weight: 1, value: "grid" },
        { name: "cards", weight: 1, value: "cards" },
      ],
    }),
  });
  await admin.set({ key: "secret/off-limits", value: 1 });

  browser = await launchChromium();
  page = await (await browser.newContext({ permissions: ["local-network-access"] })).newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("request", (r) => requested.push(r.url()));
  await page.route(`${ORIGIN}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === "/") return route.fulfill({ contentType: "text/html", body: PAGE });
    const file = IMPORTS[decodeURIComponent(path.slice("/m/".length))];
    if (file === undefined) return route.fulfill({ status: 404, body: "not found" });
    return route.fulfill({ contentType: "text/javascript", body: await readFile(join(MODULES, file), "utf8") });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => (window as unknown as { ofrep?: unknown }).ofrep !== undefined);
  await inPage(
    `await ofrep.OpenFeature.setContext({ targetingKey: "user-1", environment: "prod" });
     await ofrep.OpenFeature.setProviderAndWait(new ofrep.OFREPWebProvider({ baseUrl: arg.base, cacheMode: "disabled", headers: [["Authorization", "Bearer " + arg.token]] }));
     ofrep.OpenFeature.addHandler(ofrep.ProviderEvents.ConfigurationChanged, (e) => window.changes.push(e.flagsChanged));`,
    { base: `http://${daemon.http}`, token },
  );
}, 90_000);

afterAll(async () => {
  await browser?.close();
  client?.close();
  await daemon?.dispose();
});

describe("OFREP with the OpenFeature web provider in Chromium", () => {
  it("evaluates boolean, string, number and object flags from one bulk evaluation", async () => {
    const got = await inPage<Details[]>(`return [
      client.getBooleanDetails("web/on", false), client.getStringDetails("web/title", ""),
      client.getNumberDetails("web/max", 0), client.getObjectDetails("web/theme", {})];`);
    const version = (await admin.get({ key: "web/on" })).entry!;
    expect(got[0]).toMatchObject({ value: true, reason: "STATIC", flagMetadata: { ctmReason: "static", version: version.version, revision: version.revision } });
    expect(got.slice(1).map((d) => [d.value, d.reason])).toEqual([
      ["Welcome", "STATIC"],
      [3, "STATIC"],
      [{ color: "teal" }, "STATIC"],
    ]);
    expect(pageErrors).toEqual([]);
  });

  it("serves each unit what gRPC Get gives it, after a context change", async () => {
    for (const unit of ["user-1", "user-2", "user-3", "user-4", "user-5", "user-6"]) {
      const d = await inPage<Details>(`await ofrep.OpenFeature.setContext({ targetingKey: arg, environment: "prod" }); return client.getStringDetails("web/layout", "none");`, unit);
      const g = await admin.get({ key: "web/layout", context: { unitId: unit, environment: "prod", attributes: {}, requestId: "" } });
      expect([unit, d.value, d.variant ?? "", d.flagMetadata.ctmReason]).toEqual([unit, g.value, g.variant, fromPbReason(g.reason)]);
    }
  });

  it("reports a missing flag, an unreadable one and a type mismatch with the default", async () => {
    const got = await inPage<Details[]>(`return [client.getBooleanDetails("web/missing", true), client.getNumberDetails("secret/off-limits", 7), client.getBooleanDetails("web/title", false)];`);
    expect(got.map((d) => [d.value, d.reason, d.errorCode])).toEqual([
      [true, "ERROR", "FLAG_NOT_FOUND"],
      [7, "ERROR", "FLAG_NOT_FOUND"],
      [false, "ERROR", "TYPE_MISMATCH"],
    ]);
  });

  it("gets a change through the event stream the bulk answer announced", async () => {
    await admin.set({ key: "web/title", value: "Hello again" });
    await page.waitForFunction(() => (window as unknown as { changes: string[][] }).changes.some((c) => c.includes("web/title")), undefined, { timeout: 20_000 });
    expect(await inPage<string>(`return client.getStringValue("web/title", "");`)).toBe("Hello again");
    expect(requested.some((u) => u.startsWith(`http://${daemon.http}/ofrep/v1/events?ticket=`))).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
