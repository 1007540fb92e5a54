import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseToken } from "../../src/domain/auth/token.js";
import { protoRegistry } from "../../src/transport/grpc/proto-registry.js";
import { encodeMessage } from "../fuzz/proto-es.js";
import { RawClient } from "../fuzz/raw-client.js";
import { Daemon } from "../helpers/daemon.js";
import { AuthApi, bearer } from "../helpers/auth.js";

/**
 * Every method of every service, found through the daemon's own reflection, so a new RPC is
 * in this matrix without anyone adding it. Each must say here which verb it needs: a method
 * missing from this table fails the test, as a method missing from the daemon's access rules
 * stops the daemon from starting.
 */
const VERB: Record<string, "read" | "write" | "rollout" | "report" | "admin" | "approve" | "authenticated" | "public"> = {
  "ctm.v1.ConfigService/Set": "write",
  "ctm.v1.ConfigService/Get": "read",
  "ctm.v1.ConfigService/Delete": "write",
  "ctm.v1.ConfigService/History": "read",
  "ctm.v1.ConfigService/Diff": "read",
  "ctm.v1.ConfigService/Blame": "read",
  "ctm.v1.ConfigService/Rollback": "write",
  "ctm.v1.ConfigService/GetAt": "read",
  "ctm.v1.ConfigService/Snapshot": "read",
  "ctm.v1.ConfigService/ListKeys": "read",
  "ctm.v1.ConfigService/ListChanges": "read",
  "ctm.v1.ConfigService/Apply": "write",
  "ctm.v1.ConfigService/RollbackPrefix": "write",
  "ctm.v1.ConfigService/Watch": "read",
  "ctm.v1.RolloutService/Status": "read",
  "ctm.v1.RolloutService/Explain": "read",
  "ctm.v1.RolloutService/Pause": "rollout",
  "ctm.v1.RolloutService/Resume": "rollout",
  "ctm.v1.RolloutService/Promote": "rollout",
  "ctm.v1.RolloutService/Abort": "rollout",
  "ctm.v1.RolloutService/Kill": "rollout",
  "ctm.v1.ValidatorService/SetValidator": "admin",
  "ctm.v1.ValidatorService/DeleteValidator": "admin",
  "ctm.v1.ValidatorService/ListValidators": "admin",
  "ctm.v1.ValidatorService/Validate": "read",
  "ctm.v1.HealthCheckService/SetHealthCheck": "admin",
  "ctm.v1.HealthCheckService/DeleteHealthCheck": "admin",
  "ctm.v1.HealthCheckService/ListHealthChecks": "admin",
  "ctm.v1.HealthCheckService/GetHealthHistory": "read",
  "ctm.v1.HealthCheckService/ReportMetrics": "report",
  "ctm.v1.AccessLogService/QueryAccessLog": "read",
  "ctm.v1.AccessLogService/SummarizeAccessLog": "read",
  "ctm.v1.AccessLogService/UploadAccessLog": "report",
  "ctm.v1.AdminService/Verify": "admin",
  "ctm.v1.AdminService/GetVerification": "admin",
  "ctm.v1.AdminService/Compact": "admin",
  "ctm.v1.AdminService/GetRetention": "admin",
  "ctm.v1.AdminService/ListStaleKeys": "read",
  "ctm.v1.AuthService/CreateToken": "admin",
  "ctm.v1.AuthService/ListTokens": "admin",
  "ctm.v1.AuthService/RevokeToken": "admin",
  "ctm.v1.AuthService/SetRole": "admin",
  "ctm.v1.AuthService/DeleteRole": "admin",
  "ctm.v1.AuthService/ListRoles": "admin",
  "ctm.v1.AuthService/WhoAmI": "authenticated",
  "ctm.v1.AuthService/CheckAccess": "authenticated",
  "ctm.v1.ChangeRequestService/CreateChangeRequest": "write",
  "ctm.v1.ChangeRequestService/SubmitChangeRequest": "write",
  "ctm.v1.ChangeRequestService/GetChangeRequest": "read",
  "ctm.v1.ChangeRequestService/ListChangeRequests": "read",
  "ctm.v1.ChangeRequestService/EditChangeRequest": "write",
  "ctm.v1.ChangeRequestService/ApproveChangeRequest": "approve",
  "ctm.v1.ChangeRequestService/RejectChangeRequest": "approve",
  "ctm.v1.ChangeRequestService/CancelChangeRequest": "write",
  "ctm.v1.ChangeRequestService/ApplyChangeRequest": "write",
  "grpc.health.v1.Health/Check": "public",
  "grpc.health.v1.Health/Watch": "public",
  "grpc.health.v1.Health/List": "public",
};

/** A request that names keys under sec/ wherever the method takes one. */
const REQUESTS: Record<string, object> = {
  "ctm.v1.ConfigService/Set": { key: "sec/k", value: { kind: { case: "numberValue", value: 1 } }, rollout: { rings: { order: ["dev"] } } },
  "ctm.v1.ConfigService/Snapshot": { prefix: "sec/" },
  "ctm.v1.ConfigService/ListKeys": { prefix: "sec/" },
  "ctm.v1.ConfigService/ListChanges": { prefix: "sec/" },
  "ctm.v1.AdminService/ListStaleKeys": { prefix: "sec/" },
  "ctm.v1.ConfigService/RollbackPrefix": { prefix: "sec/", to: { case: "revision", value: 1n } },
  "ctm.v1.ConfigService/Apply": { operations: [{ operation: { case: "set", value: { key: "sec/k", value: { kind: { case: "numberValue", value: 2 } } } } }] },
  "ctm.v1.ConfigService/Watch": { key: "sec/", prefix: true },
  "ctm.v1.ValidatorService/SetValidator": { validator: { name: "v", keys: ["sec/**"], rules: [{ path: "", kind: { case: "type", value: 1 } }] } },
  "ctm.v1.ValidatorService/DeleteValidator": { name: "v" },
  "ctm.v1.HealthCheckService/SetHealthCheck": { check: { name: "h", keys: ["sec/**"], source: { case: "pushed", value: {} }, maxErrorRate: 0.1 } },
  "ctm.v1.HealthCheckService/DeleteHealthCheck": { name: "h" },
  "ctm.v1.HealthCheckService/ReportMetrics": { samples: [{ key: "sec/k", variant: "new", requests: 1n, errors: 0n }] },
  "ctm.v1.AccessLogService/QueryAccessLog": { key: "sec/k" },
  "ctm.v1.AccessLogService/SummarizeAccessLog": { key: "sec/k" },
  "ctm.v1.HealthCheckService/GetHealthHistory": { key: "sec/k" },
  "ctm.v1.AccessLogService/UploadAccessLog": { records: [{ key: "sec/k", requestId: "r", time: { seconds: 1_800_000_000n } }] },
  "ctm.v1.AuthService/CreateToken": { name: "made-by-matrix", roles: ["admin"] },
  "ctm.v1.AuthService/RevokeToken": { token: "nobody" },
  "ctm.v1.AuthService/SetRole": { role: { name: "r", grants: [{ verbs: [1], keys: ["sec/**"] }] } },
  "ctm.v1.AuthService/DeleteRole": { name: "nobody" },
  "ctm.v1.AuthService/CheckAccess": { accesses: [{ verb: 2, key: "sec/k" }] },
};
/** A change request on sec/k, made by the "right" token: the methods that take an id name it. */
let changeId = "";
const requestFor = (path: string): object =>
  REQUESTS[path] ??
  (path === "ctm.v1.ChangeRequestService/CreateChangeRequest"
    ? { title: "matrix", operations: [{ operation: { case: "set", value: { key: "sec/k", value: { kind: { case: "numberValue", value: 3 } } } } }] }
    : path === "ctm.v1.ChangeRequestService/ListChangeRequests"
      ? { prefix: "sec/" }
      : path.startsWith("ctm.v1.ChangeRequestService/")
        ? { id: changeId }
        : { key: "sec/k", name: "x" });

let daemon: Daemon;
let raw: RawClient;
let adminToken: string;
const tokens: Record<string, string> = {};
let methods: { path: string; input: string; stream: boolean }[] = [];

async function ask(m: { path: string; input: string; stream: boolean }, token?: string) {
  const md = token === undefined ? new grpc.Metadata() : bearer(token);
  const bytes = encodeMessage(m.input, requestFor(m.path));
  return m.stream ? raw.firstOfStream(`/${m.path}`, bytes, md, 20_000) : raw.unary(`/${m.path}`, bytes, md, 20_000);
}

beforeAll(async () => {
  // Refusals are not slowed here: this one peer fails on purpose hundreds of times.
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  const file = join(daemon.dataDir, "admin.token");
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  adminToken = (await readFile(file, "utf8")).trim();
  // The secret never reaches the log (the whole of it: its base64url may hold "_" itself).
  const secret = parseToken(adminToken)!.secret;
  expect(secret).toHaveLength(43);
  expect(JSON.stringify(daemon.logs)).not.toContain(secret);
  raw = new RawClient(daemon.address);
  const admin = new AuthApi(daemon.address, adminToken);
  // Every verb but admin, on sec/**: the right token for every non-admin method.
  await admin.setRole({ name: "sec-all", grants: [{ verbs: [1, 2, 3, 4, 6], keys: ["sec/**"] }] });
  // Every verb on another prefix.
  await admin.setRole({ name: "other-all", grants: [{ verbs: [1, 2, 3, 4, 5, 6], keys: ["other/**"] }] });
  // One verb each on sec/**.
  await admin.setRole({ name: "sec-read", grants: [{ verbs: [1], keys: ["sec/**"] }] });
  await admin.setRole({ name: "sec-report", grants: [{ verbs: [4], keys: ["sec/**"] }] });
  tokens.right = await admin.createToken("right", ["sec-all"]);
  tokens.other = await admin.createToken("other", ["other-all"]);
  tokens.read = await admin.createToken("reader", ["sec-read"]);
  tokens.report = await admin.createToken("reporter", ["sec-report"]);
  tokens.revoked = await admin.createToken("revoked", ["sec-all"]);
  await admin.revokeToken("revoked");
  tokens.expired = await admin.createToken("expired", ["sec-all"], new Date(Date.now() + 1500));
  admin.close();
  const created = await raw.unary("/ctm.v1.ChangeRequestService/CreateChangeRequest", encodeMessage("ctm.v1.CreateChangeRequestRequest", requestFor("ctm.v1.ChangeRequestService/CreateChangeRequest")), bearer(tokens.right));
  expect(created.code).toBe(grpc.status.OK);
  const crpb = await import("../../src/gen/ctm/v1/change_request_service.js");
  changeId = crpb.CreateChangeRequestResponse.decode(created.response!).changeRequest!.id;

  const reflection = new GrpcReflection(daemon.address, grpc.credentials.createInsecure());
  const names = (await reflection.listServices()).filter((s) => !s.startsWith("grpc.reflection."));
  for (const service of names) {
    for (const m of protoRegistry().getService(service)!.methods) {
      methods.push({ path: `${service}/${m.name}`, input: m.input.typeName, stream: m.methodKind === "server_streaming" });
    }
  }
  // Past the expiry of the "expired" token (the daemon's clock is this machine's).
  await new Promise((r) => setTimeout(r, 1600));
}, 60_000);

afterAll(async () => {
  raw?.close();
  await daemon?.dispose();
});

describe("every method of every service, found through reflection, passes the chain", () => {
  it("every method says which verb it needs", () => {
    expect(methods.length).toBeGreaterThan(35);
    expect(methods.map((m) => m.path).filter((p) => VERB[p] === undefined)).toEqual([]);
  });

  it("no token, a malformed one, an expired one, a revoked one: UNAUTHENTICATED naming why, and the head does not move", async () => {
    const head = await headOf();
    for (const m of methods.filter((x) => VERB[x.path] !== "public")) {
      const cases: [string | undefined, RegExp][] = [
        [undefined, /no credentials/],
        ["not-a-token", /not `Bearer ctm_<id>_<secret>`/],
        [tokens.expired!, /expired at/],
        [tokens.revoked!, /was revoked/],
        ["ctm_0123456789abcdef_" + "A".repeat(43), /not known/],
      ];
      for (const [token, why] of cases) {
        const a = await ask(m, token);
        expect([m.path, token === undefined ? "none" : token.slice(0, 8), a.code]).toEqual([m.path, token === undefined ? "none" : token.slice(0, 8), grpc.status.UNAUTHENTICATED]);
        expect(a.details, m.path).toMatch(why);
      }
    }
    expect(await headOf()).toBe(head);
  }, 120_000);

  it("a token without the verb, or with it on another prefix: PERMISSION_DENIED naming the verb and the key, and the head does not move", async () => {
    const head = await headOf();
    for (const m of methods) {
      const verb = VERB[m.path]!;
      if (verb === "public" || verb === "authenticated") continue;
      const lacking = verb === "read" ? tokens.report! : verb === "admin" ? tokens.right! : tokens.read!;
      const wrong = await ask(m, lacking);
      expect([m.path, "lacking", wrong.code]).toEqual([m.path, "lacking", grpc.status.PERMISSION_DENIED]);
      expect(wrong.details, m.path).toMatch(new RegExp(`^token:\\w+ may not ${verb} (key|prefix) "`));
      const elsewhere = await ask(m, tokens.other!);
      expect([m.path, "elsewhere", elsewhere.code]).toEqual([m.path, "elsewhere", grpc.status.PERMISSION_DENIED]);
    }
    expect(await headOf()).toBe(head);
  }, 120_000);

  it("the right token passes the chain (the handler answers), and public methods need none", async () => {
    for (const m of methods) {
      const verb = VERB[m.path]!;
      const a = await ask(m, verb === "public" ? undefined : verb === "admin" ? adminToken : tokens.right!);
      // A handler may refuse too (an author approving their own change request): the chain's refusals name a verb and a key.
      const chainRefused = a.code === grpc.status.UNAUTHENTICATED || (a.code === grpc.status.PERMISSION_DENIED && /^token:\w+ may not \w+ (key|prefix) "/.test(a.details));
      expect([m.path, chainRefused ? a.details : "passed"]).toEqual([m.path, "passed"]);
    }
  }, 120_000);
});

async function headOf(): Promise<number> {
  const a = await raw.unary("/ctm.v1.ConfigService/Snapshot", encodeMessage("ctm.v1.SnapshotRequest", { prefix: "" }), bearer(adminToken));
  expect(a.code).toBe(grpc.status.OK);
  const m = await import("../../src/gen/ctm/v1/config_service.js");
  return m.SnapshotResponse.decode(a.response!).header!.revision;
}
