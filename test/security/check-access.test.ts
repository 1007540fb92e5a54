import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthServiceClient, Verb, type Access, type CheckAccessResponse, type WhoAmIResponse } from "../../src/gen/ctm/v1/auth_service.js";
import { AuthApi } from "../helpers/auth.js";
import { api, call, connect, rejects, tokenMetadata, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

/**
 * What a caller may learn of its own grants: WhoAmI's grants, and CheckAccess, which answers
 * from the same `authorize` as the call chain, so its answers and the chain's refusals agree.
 */
let daemon: Daemon;
let auth: InstanceType<typeof AuthServiceClient>;
let client: Client;
let admin: AuthApi;
let adminToken: string;
const t: Record<string, string> = {};

const whoAmI = (token?: string, d = auth): Promise<WhoAmIResponse> => call(d.whoAmI.bind(d), {}, tokenMetadata(token));
const check = (token: string | undefined, accesses: Access[], d = auth): Promise<CheckAccessResponse> => call(d.checkAccess.bind(d), { accesses }, tokenMetadata(token));
const ask = (verb: Verb, key: string): Access => ({ verb, key });
const { VERB_READ: READ, VERB_WRITE: WRITE, VERB_ROLLOUT: ROLLOUT, VERB_ADMIN: ADMIN, VERB_APPROVE: APPROVE } = Verb;

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  auth = new AuthServiceClient(daemon.address, grpc.credentials.createInsecure());
  client = connect(daemon.address);
  admin = new AuthApi(daemon.address, adminToken);
  await admin.setRole({ name: "deployer", grants: [{ verbs: [READ, WRITE, ROLLOUT], keys: ["app/**"], environments: ["dev", "staging"] }, { verbs: [READ], keys: ["shared/*"] }] });
  // Grants what deployer grants on shared/*, and one more: WhoAmI lists the shared grant once.
  await admin.setRole({ name: "auditor", grants: [{ verbs: [READ], keys: ["shared/*"] }, { verbs: [READ], keys: ["logs/**"] }] });
  t.deployer = await admin.createToken("deployer", ["deployer", "auditor"]);
  t.nobody = await admin.createToken("nobody", ["auditor"]);
}, 60_000);

afterAll(async () => {
  admin?.close();
  client?.close();
  auth?.close();
  await daemon?.dispose();
});

describe("WhoAmI with auth on", () => {
  it("answers the union of the grants of the caller's roles, each once, with their environments", async () => {
    expect(await whoAmI(t.deployer)).toMatchObject({
      principal: "token:deployer",
      roles: ["deployer", "auditor"],
      authEnabled: true,
      grants: [
        { verbs: [READ, WRITE, ROLLOUT], keys: ["app/**"], environments: ["dev", "staging"] },
        { verbs: [READ], keys: ["shared/*"], environments: [] },
        { verbs: [READ], keys: ["logs/**"], environments: [] },
      ],
    });
  });

  it("answers the built-in admin role as every verb on every key", async () => {
    const me = await whoAmI(adminToken);
    expect(me.roles).toEqual(["admin"]);
    expect(me.grants).toEqual([{ verbs: [READ, WRITE, ROLLOUT, Verb.VERB_REPORT, ADMIN, APPROVE, Verb.VERB_BREAK_GLASS], keys: ["**"], environments: [] }]);
  });
});

describe("CheckAccess with auth on", () => {
  it("answers each question as the chain decides: the globs, environments not asked, admin under _ctm/", async () => {
    const asks = [
      ask(WRITE, "app/web/banner"), // a grant limited to dev and staging counts
      ask(ROLLOUT, "app/flag"),
      ask(READ, "app"), // `app/**` covers `app`
      ask(READ, "shared/x"),
      ask(READ, "shared/a/b"), // `*` stays within a segment
      ask(WRITE, "shared/x"),
      ask(APPROVE, "app/flag"),
      ask(READ, "_ctm/auth/roles/deployer"), // needs admin, whatever the verb
      ask(READ, "logs/2024/05"),
      ask(READ, "other/k"),
    ];
    expect((await check(t.deployer, asks)).allowed).toEqual([true, true, true, true, false, false, false, false, true, false]);
    expect((await check(adminToken, asks)).allowed).toEqual(asks.map(() => true));
    expect((await check(t.nobody, asks)).allowed).toEqual([false, false, false, true, false, false, false, false, true, false]);
  });

  it("agrees with the calls themselves; environments are left to the call", async () => {
    await api(client, adminToken).set({ key: "shared/x", value: 1 });
    const as = api(client, t.deployer);
    expect((await check(t.deployer, [ask(READ, "shared/x"), ask(WRITE, "shared/x"), ask(WRITE, "app/k")])).allowed).toEqual([true, false, true]);
    expect((await as.get({ key: "shared/x" })).entry?.value).toBe(1);
    const refused = await rejects(as.set({ key: "shared/x", value: 2 }));
    expect([refused.code, refused.details]).toEqual([grpc.status.PERMISSION_DENIED, 'token:deployer may not write key "shared/x"']);
    // Allowed on the key, but only in dev and staging: a value without rings is served everywhere.
    const narrowed = await rejects(as.set({ key: "app/k", value: 2 }));
    expect([narrowed.code, narrowed.details]).toEqual([grpc.status.PERMISSION_DENIED, 'token:deployer may not write key "app/k" in every environment (a value served without rings)']);
  });

  it("follows a role's change at once", async () => {
    expect((await check(t.nobody, [ask(WRITE, "logs/today")])).allowed).toEqual([false]);
    await admin.setRole({ name: "auditor", grants: [{ verbs: [READ], keys: ["shared/*"] }, { verbs: [READ, WRITE], keys: ["logs/**"] }] });
    expect((await check(t.nobody, [ask(WRITE, "logs/today")])).allowed).toEqual([true]);
    expect((await whoAmI(t.nobody)).grants).toContainEqual({ verbs: [READ, WRITE], keys: ["logs/**"], environments: [] });
  });

  it("needs credentials, as every method does", async () => {
    const e = await rejects(check(undefined, [ask(READ, "shared/x")]));
    expect([e.code, e.details]).toEqual([grpc.status.UNAUTHENTICATED, "no credentials: send `authorization: Bearer <token>`"]);
  });

  it("is bounded: 1-100 questions, each a verb and a key; bad input is INVALID_ARGUMENT naming the field", async () => {
    expect((await check(t.deployer, Array.from({ length: 100 }, (_, i) => ask(READ, `shared/k${i}`)))).allowed).toHaveLength(100);
    const cases: [Access[], RegExp][] = [
      [[], /^accesses: must hold 1-100 accesses/],
      [Array.from({ length: 101 }, () => ask(READ, "shared/x")), /^accesses: must hold 1-100 accesses/],
      [[ask(READ, "shared/x"), ask(READ, "shared/y"), ask(READ, "")], /^accesses\[2\]\.key: must not be empty/],
      [[ask(READ, "a".repeat(257))], /^accesses\[0\]\.key: must be at most 256 bytes/],
      [[ask(READ, "shared/*")], /^accesses\[0\]\.key: may hold only/],
      [[ask(READ, "shared/x"), ask(Verb.VERB_UNSPECIFIED, "shared/x")], /^accesses\[1\]\.verb: must name a verb/],
      // A number no verb has (a newer client's), and the one just past the list.
      [[ask(99 as Verb, "shared/x")], /^accesses\[0\]\.verb: 99 is not a value of/],
      [[ask(8 as Verb, "shared/x")], /^accesses\[0\]\.verb: 8 is not a value of/],
    ];
    for (const [accesses, why] of cases) {
      const e = await rejects(check(t.deployer, accesses));
      expect([accesses.length, e.code]).toEqual([accesses.length, grpc.status.INVALID_ARGUMENT]);
      expect(e.details).toMatch(why);
    }
  });

  it("over HTTP as JSON, as the console asks it", async () => {
    const res = await fetch(`http://${daemon.http}/api/ctm.v1.AuthService/CheckAccess`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.deployer}` },
      body: JSON.stringify({ accesses: [{ verb: "VERB_WRITE", key: "shared/x" }, { verb: "VERB_ROLLOUT", key: "app/flag" }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ allowed: [false, true] });
  });
});

describe("with auth off", () => {
  it("WhoAmI answers no grants, CheckAccess allows everything, and the bounds still hold", async () => {
    const open = await Daemon.start();
    const d = new AuthServiceClient(open.address, grpc.credentials.createInsecure());
    try {
      expect(await whoAmI(undefined, d)).toMatchObject({ principal: "anonymous", roles: [], authEnabled: false, grants: [] });
      expect((await check(undefined, [ask(WRITE, "any/key"), ask(ADMIN, "_ctm/auth/roles/x")], d)).allowed).toEqual([true, true]);
      const e = await rejects(check(undefined, [ask(READ, "a b")], d));
      expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^accesses\[0\]\.key: may hold only/)]);
    } finally {
      d.close();
      await open.dispose();
    }
  });
});
