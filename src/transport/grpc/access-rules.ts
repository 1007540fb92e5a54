import type { Access } from "../../domain/auth/authorize.js";
import { ROLE_PREFIX, TOKEN_PREFIX } from "../../domain/auth/role.js";
import { HEALTH_CHECK_PREFIX, VALIDATOR_PREFIX } from "../../domain/validation/validator.js";
import type { RolloutService } from "../../service/rollout-service.js";
import { PromoteTarget } from "../../gen/ctm/v1/rollout_service.js";

/** What a rule may consult: the rollout state, for the environments a control would open; the keys of a change request. */
export interface AccessContext {
  rollouts: RolloutService;
  changes: { keysOf(id: string): string[] };
}

/**
 * How the chain authorizes one method: the accesses a decoded request asks for (every one must
 * be granted), `"authenticated"` (any principal), or `"public"` (no credentials needed).
 */
export type AccessRule = "public" | "authenticated" | ((req: never, ctx: AccessContext) => Access[]);

// Decoded requests, as far as the rules read them.
type Keyed = { key: string };
type Plan = { rollout?: { rings?: { order: string[] } } };
type Op = { operation?: { $case: "set"; value: Keyed & Plan } | { $case: "delete"; value: Keyed } };

/** A value written without rings is served in every environment; a ringed plan only in its rings. */
const served = (p: Plan): Access["environments"] => p.rollout?.rings?.order.length ? p.rollout.rings.order : "all";
const onKey = (verb: Access["verb"]) => (r: Keyed): Access[] => [{ verb, keys: [r.key] }];
const admin = (prefix: string) => (): Access[] => [{ verb: "admin", prefix }];
/** A change request's operations, as the decoded request holds them. */
type ChangeOps = { operations: { operation?: { $case: "set"; value: Keyed & Plan } | { $case: "delete"; value: Keyed } }[] };
/** Each operation's key, with where it would be served: a write needs its environments, as Apply's do. */
const opWrites = (r: ChangeOps): Access[] =>
  r.operations.map((o): Access => {
    const op = o.operation;
    return { verb: "write", keys: [op?.value.key ?? ""], environments: op?.$case === "set" ? served(op.value) : "all" };
  });
/** `verb` over the keys of request `id` (and `more`); nothing to check when it has none (NOT_FOUND follows). */
const onChange =
  (verb: Access["verb"]) =>
  (r: { id: string } & Partial<ChangeOps>, { changes }: AccessContext): Access[] => {
    const keys = changes.keysOf(r.id);
    const mine: Access[] = keys.length === 0 ? [] : [{ verb, keys, ...(verb === "write" ? { environments: "all" as const } : {}) }];
    return r.operations && r.operations.length > 0 ? [...mine, ...opWrites(r as ChangeOps)] : mine;
  };
const control = (c: "resume" | "promote_next" | "promote_finish") => (r: Keyed, { rollouts }: AccessContext): Access[] => [
  { verb: "rollout", keys: [r.key], environments: rollouts.environmentsFor(r.key, c) },
];

/**
 * Every method ctmd serves, by path. The chain refuses to start a server with a method missing
 * here, so a new RPC cannot be added without saying who may call it.
 */
export const ACCESS_RULES: Record<string, AccessRule> = {
  "/ctm.v1.ConfigService/Set": (r: Keyed & Plan) => [{ verb: "write", keys: [r.key], environments: served(r) }],
  "/ctm.v1.ConfigService/Get": onKey("read"),
  "/ctm.v1.ConfigService/Delete": (r: Keyed) => [{ verb: "write", keys: [r.key], environments: "all" }],
  "/ctm.v1.ConfigService/History": onKey("read"),
  "/ctm.v1.ConfigService/Diff": onKey("read"),
  "/ctm.v1.ConfigService/Blame": onKey("read"),
  "/ctm.v1.ConfigService/Rollback": (r: Keyed) => [{ verb: "write", keys: [r.key], environments: "all" }],
  "/ctm.v1.ConfigService/GetAt": onKey("read"),
  "/ctm.v1.ConfigService/Snapshot": (r: { prefix: string }) => [{ verb: "read", prefix: r.prefix }],
  "/ctm.v1.ConfigService/ListKeys": (r: { prefix: string }) => [{ verb: "read", prefix: r.prefix }],
  "/ctm.v1.ConfigService/ListChanges": (r: { prefix: string }) => [{ verb: "read", prefix: r.prefix }],
  "/ctm.v1.ConfigService/Apply": (r: { operations: Op[] }) =>
    r.operations.map((op): Access => {
      const o = op.operation;
      return { verb: "write", keys: [o?.value.key ?? ""], environments: o?.$case === "set" ? served(o.value) : "all" };
    }),
  "/ctm.v1.ConfigService/RollbackPrefix": (r: { prefix: string }) => [{ verb: "write", prefix: r.prefix, environments: "all" }],
  // A prefix watch outside the grants is refused, never filtered: no event it may not see is sent.
  "/ctm.v1.ConfigService/Watch": (r: Keyed & { prefix: boolean }) => [r.prefix ? { verb: "read", prefix: r.key } : { verb: "read", keys: [r.key] }],

  "/ctm.v1.RolloutService/Status": onKey("read"),
  "/ctm.v1.RolloutService/Explain": onKey("read"),
  "/ctm.v1.RolloutService/Pause": onKey("rollout"),
  "/ctm.v1.RolloutService/Kill": onKey("rollout"),
  "/ctm.v1.RolloutService/Abort": onKey("rollout"),
  "/ctm.v1.RolloutService/Resume": control("resume"),
  "/ctm.v1.RolloutService/Promote": (r: Keyed & { target: PromoteTarget }, ctx: AccessContext) =>
    control(r.target === PromoteTarget.PROMOTE_TARGET_FINISH ? "promote_finish" : "promote_next")(r, ctx),

  "/ctm.v1.ValidatorService/SetValidator": (r: { validator?: { name: string } }) => [{ verb: "admin", keys: [VALIDATOR_PREFIX + (r.validator?.name ?? "")] }],
  "/ctm.v1.ValidatorService/DeleteValidator": (r: { name: string }) => [{ verb: "admin", keys: [VALIDATOR_PREFIX + r.name] }],
  "/ctm.v1.ValidatorService/ListValidators": admin(VALIDATOR_PREFIX),
  "/ctm.v1.ValidatorService/Validate": onKey("read"),

  "/ctm.v1.HealthCheckService/SetHealthCheck": (r: { check?: { name: string } }) => [{ verb: "admin", keys: [HEALTH_CHECK_PREFIX + (r.check?.name ?? "")] }],
  "/ctm.v1.HealthCheckService/DeleteHealthCheck": (r: { name: string }) => [{ verb: "admin", keys: [HEALTH_CHECK_PREFIX + r.name] }],
  "/ctm.v1.HealthCheckService/ListHealthChecks": admin(HEALTH_CHECK_PREFIX),
  "/ctm.v1.HealthCheckService/GetHealthHistory": onKey("read"),
  "/ctm.v1.HealthCheckService/ReportMetrics": (r: { samples: Keyed[] }) => [{ verb: "report", keys: [...new Set(r.samples.map((s) => s.key))] }],

  // Without a key, a query may return records of every key.
  "/ctm.v1.AccessLogService/SummarizeAccessLog": onKey("read"),
  "/ctm.v1.AccessLogService/QueryAccessLog": (r: Keyed) => [r.key ? { verb: "read", keys: [r.key] } : { verb: "read", prefix: "" }],
  "/ctm.v1.AccessLogService/UploadAccessLog": (r: { records: Keyed[] }) => [{ verb: "report", keys: [...new Set(r.records.map((s) => s.key))] }],

  "/ctm.v1.AdminService/Verify": admin(""),
  "/ctm.v1.AdminService/GetVerification": admin(""),
  "/ctm.v1.AdminService/Compact": admin(""),
  "/ctm.v1.AdminService/GetRetention": admin(""),
  "/ctm.v1.AdminService/ListStaleKeys": (r: { prefix: string }) => [{ verb: "read", prefix: r.prefix }],

  // Proposing needs the right to write the keys; reviewing, `approve` on all of them.
  "/ctm.v1.ChangeRequestService/CreateChangeRequest": opWrites,
  "/ctm.v1.ChangeRequestService/SubmitChangeRequest": onChange("write"),
  "/ctm.v1.ChangeRequestService/GetChangeRequest": onChange("read"),
  "/ctm.v1.ChangeRequestService/ListChangeRequests": (r: { prefix: string }) => [{ verb: "read", prefix: r.prefix }],
  "/ctm.v1.ChangeRequestService/EditChangeRequest": onChange("write"),
  "/ctm.v1.ChangeRequestService/ApproveChangeRequest": onChange("approve"),
  "/ctm.v1.ChangeRequestService/RejectChangeRequest": onChange("approve"),
  "/ctm.v1.ChangeRequestService/CancelChangeRequest": onChange("write"),
  "/ctm.v1.ChangeRequestService/ApplyChangeRequest": onChange("write"),

  "/ctm.v1.AuthService/CreateToken": admin(TOKEN_PREFIX),
  "/ctm.v1.AuthService/ListTokens": admin(TOKEN_PREFIX),
  "/ctm.v1.AuthService/RevokeToken": admin(TOKEN_PREFIX),
  "/ctm.v1.AuthService/SetRole": (r: { role?: { name: string } }) => [{ verb: "admin", keys: [ROLE_PREFIX + (r.role?.name ?? "")] }],
  "/ctm.v1.AuthService/DeleteRole": (r: { name: string }) => [{ verb: "admin", keys: [ROLE_PREFIX + r.name] }],
  "/ctm.v1.AuthService/ListRoles": admin(ROLE_PREFIX),
  "/ctm.v1.AuthService/WhoAmI": "authenticated",
  // A caller asks only about itself, and learns no more than its own calls would tell it.
  "/ctm.v1.AuthService/CheckAccess": "authenticated",

  // Load balancers and orchestrators probe health without credentials.
  "/grpc.health.v1.Health/Check": "public",
  "/grpc.health.v1.Health/Watch": "public",
  "/grpc.health.v1.Health/List": "public",
  // The API's schema (the .proto files are public); grpcurl reads it before every call.
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "public",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "public",
};
