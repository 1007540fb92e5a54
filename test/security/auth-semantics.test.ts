import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromoteTarget } from "../../src/gen/ctm/v1/rollout_service.js";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import { AuthApi } from "../helpers/auth.js";
import { api, connect, rejects, rolloutApi, tokenMetadata, type Client } from "../helpers/client.js";
import { Daemon, runDaemonToExit } from "../helpers/daemon.js";
import { healthApi, metricsAddress, plan, seconds } from "../helpers/safety-clients.js";
import { WatchStream } from "../helpers/watch-stream.js";

let daemon: Daemon;
let client: Client;
let admin: AuthApi;
let adminToken: string;
const t: Record<string, string> = {};

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  admin = new AuthApi(daemon.address, adminToken);
  await admin.setRole({ name: "sec-reader", grants: [{ verbs: [Verb.VERB_READ], keys: ["sec/**"] }] });
  await admin.setRole({ name: "writer", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE], keys: ["app/**"] }] });
  await admin.setRole({ name: "stager", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE, Verb.VERB_ROLLOUT], keys: ["app/**"], environments: ["dev", "staging"] }] });
  t.secReader = await admin.createToken("sec-reader", ["sec-reader"]);
  t.writer = await admin.createToken("writer", ["writer"]);
  t.stager = await admin.createToken("stager", ["stager"]);
}, 60_000);

afterAll(async () => {
  admin?.close();
  client?.close();
  await daemon?.dispose();
});

describe("Watch under auth", () => {
  it("a prefix outside the grants is refused; a covered Watch never delivers a key outside them", async () => {
    const c = api(client, adminToken);
    const reader = new WatchStream(client, { key: "sec/", prefix: true, startRevision: 1 });
    // WatchStream sends no metadata: it is refused.
    await reader.until(() => reader.error !== undefined);
    expect(reader.error!.code).toBe(grpc.status.UNAUTHENTICATED);

    for (const prefix of ["", "se", "secret/", "app/"]) {
      const w = client.watch({ key: prefix, prefix: true, startRevision: 1 }, tokenMetadata(t.secReader));
      const err = await new Promise<grpc.ServiceError>((r) => w.on("error", r));
      expect([prefix, err.code]).toEqual([prefix, grpc.status.PERMISSION_DENIED]);
      expect(err.details).toMatch(/^token:sec-reader may not (read|admin) prefix "/);
    }

    const seen: string[] = [];
    const w = client.watch({ key: "sec/", prefix: true, startRevision: 1 }, tokenMetadata(t.secReader));
    w.on("data", (r: { events: { key: string }[] }) => seen.push(...r.events.map((e) => e.key)));
    w.on("error", () => undefined);
    await c.set({ key: "secret/x", value: 1 });
    await c.set({ key: "app/y", value: 1 });
    await c.set({ key: "sec/a", value: 1 });
    for (let i = 0; i < 200 && !seen.includes("sec/a"); i++) await new Promise((r) => setTimeout(r, 25));
    w.cancel();
    expect(seen).toEqual(["sec/a"]);
  });
});

describe("environments", () => {
  it("a staging-only role rolls out to dev and staging, never starts a plan that serves prod or promotes into it", async () => {
    const stager = api(client, t.stager);
    const rings = (order: string[]) => plan({ stable: false, rings: { order, interval: seconds(0) } });
    const manual = plan({ stable: false, rings: { order: ["dev", "staging", "prod"], interval: seconds(0) } });
    expect((await stager.set({ key: "app/a", value: true, rollout: rings(["dev", "staging"]) })).entry!.version).toBe(1);
    const head = await headAs(adminToken);
    const prod = await rejects(stager.set({ key: "app/b", value: true, rollout: rings(["dev", "staging", "prod"]) }));
    expect(prod.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(prod.details).toBe('token:stager may not write key "app/b" in dev, staging, prod');
    const everywhere = await rejects(stager.set({ key: "app/b", value: true }));
    expect(everywhere.details).toBe('token:stager may not write key "app/b" in every environment (a value served without rings)');
    expect(await headAs(adminToken)).toBe(head);

    // A release manager starts the three-ring plan; the stager may open staging, not prod.
    await api(client, adminToken).set({ key: "app/c", value: true, rollout: manual });
    const r = rolloutApi(daemon.address, t.stager);
    await r.promote({ key: "app/c", target: PromoteTarget.PROMOTE_TARGET_NEXT });
    expect((await r.status({ key: "app/c" })).ring).toBe("staging");
    const intoProd = await rejects(r.promote({ key: "app/c", target: PromoteTarget.PROMOTE_TARGET_NEXT }));
    expect(intoProd.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(intoProd.details).toBe('token:stager may not rollout key "app/c" in prod');
    expect((await rejects(r.promote({ key: "app/c", target: PromoteTarget.PROMOTE_TARGET_FINISH }))).code).toBe(grpc.status.PERMISSION_DENIED);
    // Pausing and killing only take exposure away.
    await r.pause({ key: "app/c" });
    await r.kill({ key: "app/c" });
    expect((await r.status({ key: "app/c" })).ring).toBe("staging");
    r.client.close();
  });
});

describe("trusted authors", () => {
  it("the author a client writes never replaces its principal; loops write as themselves", async () => {
    const w = api(client, t.writer);
    await w.set({ key: "app/trust", value: 1, author: "mallory", message: "not me" });
    await w.set({ key: "app/trust", value: 2 });
    const h = await w.history({ key: "app/trust" });
    expect(h.entries.map((e) => [e.author, e.principal])).toEqual([
      ["anonymous", "token:writer"],
      ["mallory", "token:writer"],
    ]);
    expect((await w.blame({ key: "app/trust" })).lines.map((l) => l.principal)).toEqual(["token:writer"]);
    // A raw Set of a token document by a writer (not admin) is refused, like any _ctm/ key.
    expect((await rejects(w.set({ key: "_ctm/auth/tokens/0123456789abcdef", value: {} }))).code).toBe(grpc.status.PERMISSION_DENIED);
    // The scheduler's milestones name it.
    const admin = api(client, adminToken);
    await admin.set({ key: "app/steps", value: true, rollout: plan({ stable: false, percentage: { $case: "steps", value: { start: 10, increment: 10, interval: seconds(1), target: 20 } } }) });
    let entries: { kind: number; principal: string }[] = [];
    for (let i = 0; i < 100 && entries.length < 2; i++) {
      entries = (await admin.history({ key: "app/steps" })).entries;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(entries.map((e) => e.principal)).toEqual(["ctm-scheduler", "token:bootstrap-admin"]);
    // Writes that await before they commit still name their caller, even with other calls in between.
    const { validatorApi } = await import("../helpers/safety-clients.js");
    const v = validatorApi(daemon.address, t.writer);
    const asAdmin = validatorApi(daemon.address, adminToken);
    const before = (await admin.snapshot({ prefix: "" })).header!.revision;
    const [defined] = await Promise.all([
      asAdmin.setValidator({ validator: { name: "trust-v", keys: ["app/**"], rules: [{ path: "", rule: { $case: "type", value: 2 } }] }, force: true }),
      w.set({ key: "app/other", value: 1 }),
    ]);
    expect(defined.entry!.principal).toBe("token:bootstrap-admin");
    const undone = await admin.rollbackPrefix({ prefix: "app/", to: { $case: "revision", value: before } });
    expect(new Set(undone.entries.map((e) => e.principal))).toEqual(new Set(["token:bootstrap-admin"]));
    v.client.close();
    asAdmin.client.close();
  });
});

describe("health checks cannot become a proxy", () => {
  it("http and prometheus sources outside --health-allow-hosts are refused, by the RPC and by a raw Set", async () => {
    const h = healthApi(daemon.address, adminToken);
    const head = await headAs(adminToken);
    const refused = await rejects(h.setHealthCheck({ check: { name: "far", keys: ["app/**"], maxErrorRate: 0.1, source: { $case: "http", value: { url: "http://10.1.2.3:8080/healthz" } } } }));
    expect(refused.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused.details).toBe('check.http.url: host "10.1.2.3:8080" is not in --health-allow-hosts (127.0.0.1, localhost, [::1])');
    const raw = await rejects(api(client, adminToken).set({ key: "_ctm/health/far", value: { keys: ["app/**"], maxErrorRate: 0.1, source: { kind: "prometheus", url: "http://metadata.internal/", query: "up" } } }));
    expect(raw.details).toMatch(/^value\.source\.url: host "metadata\.internal" is not in --health-allow-hosts/);
    expect(await headAs(adminToken)).toBe(head);
    await h.setHealthCheck({ check: { name: "near", keys: ["app/**"], maxErrorRate: 0.1, source: { $case: "http", value: { url: "http://127.0.0.1:9/healthz" } } } });
    h.client.close();
  });
});

describe("changes take effect on the next call", () => {
  it("a role edited or a token revoked after it was used is not served from what was decided before", async () => {
    await admin.setRole({ name: "flip", grants: [{ verbs: [Verb.VERB_READ], keys: ["app/**"] }] });
    const flip = await admin.createToken("flip", ["flip"]);
    await api(client, adminToken).set({ key: "app/flip", value: 1 });
    const f = api(client, flip);
    for (let i = 0; i < 3; i++) expect((await f.get({ key: "app/flip" })).entry!.version).toBe(1);
    await admin.setRole({ name: "flip", grants: [{ verbs: [Verb.VERB_READ], keys: ["other/**"] }] });
    expect((await rejects(f.get({ key: "app/flip" }))).code).toBe(grpc.status.PERMISSION_DENIED);
    await admin.setRole({ name: "flip", grants: [{ verbs: [Verb.VERB_READ], keys: ["app/**"] }] });
    expect((await f.get({ key: "app/flip" })).entry!.version).toBe(1);
    await admin.revokeToken("flip");
    const revoked = await rejects(f.get({ key: "app/flip" }));
    expect([revoked.code, revoked.details]).toEqual([grpc.status.UNAUTHENTICATED, expect.stringMatching(/was revoked$/)]);
  });
});

describe("/metrics under auth", () => {
  it("answers 401 without a valid token, and the metrics with one, counting refusals by reason", async () => {
    const url = `http://${metricsAddress(daemon)}/metrics`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="ctmd"');
    expect((await fetch(url, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toMatch(/^ctm_auth_failures_total\{reason="missing"\} [1-9]/m);
    expect(text).toMatch(/^ctm_auth_denials_total\{verb="(read|write|rollout|admin)"\} [1-9]/m);
  });
});

describe("first start and protected mode", () => {
  it("the first admin token is written once, mode 0600, and never to the log", async () => {
    const file = join(daemon.dataDir, "admin.token");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(adminToken).toMatch(/^ctm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(daemon.logs)).not.toContain(adminToken);
    expect(daemon.logs.find((l) => l.msg?.toString().startsWith("auth is on and no token existed"))).toMatchObject({ file });
    // A restart with tokens in the store writes no new one.
    const before = await readFile(file, "utf8");
    await daemon.stop();
    await daemon.launch();
    client.close();
    client = connect(daemon.address);
    expect(await readFile(file, "utf8")).toBe(before);
    expect((await api(client, adminToken).get({ key: "app/trust" })).entry!.version).toBe(2);
  });

  it("a token's last use is kept across a restart, to the minute; a token never used has none", async () => {
    admin.close();
    admin = new AuthApi(daemon.address, adminToken);
    const idle = await admin.createToken("idle", ["sec-reader"]);
    expect(idle).toMatch(/^ctm_/);
    const before = Date.now();
    // Authenticated, then answered: the key does not exist.
    expect((await rejects(api(client, t.secReader!).get({ key: "sec/absent" }))).code).toBe(grpc.status.NOT_FOUND);
    await daemon.stop();
    await daemon.launch();
    client.close();
    client = connect(daemon.address);
    admin.close();
    admin = new AuthApi(daemon.address, adminToken);
    const tokens = new Map((await admin.listTokens()).map((tok) => [tok.name, tok]));
    const used = tokens.get("sec-reader")!.lastUsedAt!.getTime();
    expect(used % 60_000).toBe(0);
    expect(used).toBeGreaterThan(before - 60_000);
    expect(used).toBeLessThanOrEqual(Date.now());
    expect(tokens.get("idle")!.lastUsedAt).toBeUndefined();
    expect(tokens.get("bootstrap-admin")!.lastUsedAt).toBeInstanceOf(Date);
  });

  it("with auth off, a non-loopback address is refused in one line unless --insecure", async () => {
    const r = await runDaemonToExit(["--listen", "0.0.0.0:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", join(daemon.dataDir, "never")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "ctmd: --listen 0.0.0.0:0 is not a loopback address and --auth is off: anyone who reaches it could change every key; turn on --auth on (or pass --insecure)",
    ]);
  });
});

async function headAs(token: string): Promise<number> {
  return (await api(client, token).snapshot({ prefix: "" })).header!.revision;
}
