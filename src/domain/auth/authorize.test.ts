import { describe, expect, it } from "vitest";
import { authorize, compileGrant, type Access } from "./authorize.js";
import type { Grant } from "./role.js";
import { mintToken, parseToken, secretMatches } from "./token.js";

const check = (grants: Grant[], access: Access) => authorize("token:dev", grants.map(compileGrant), access)?.message;

describe("authorize", () => {
  const dev: Grant[] = [
    { verbs: ["read"], keys: ["**"] },
    { verbs: ["write", "rollout"], keys: ["payments/**", "svc/*/flags/**"], environments: ["dev", "staging"] },
  ];

  it("allows a verb on keys its globs match, and names the verb and key it refuses", () => {
    expect(check(dev, { verb: "read", keys: ["anything/at/all"] })).toBeUndefined();
    expect(check(dev, { verb: "write", keys: ["payments/fee"], environments: ["staging"] })).toBeUndefined();
    expect(check(dev, { verb: "write", keys: ["orders/fee"], environments: ["dev"] })).toBe('token:dev may not write key "orders/fee"');
    expect(check(dev, { verb: "report", keys: ["payments/fee"] })).toBe('token:dev may not report key "payments/fee"');
  });

  it("checks every key of a multi-key call", () => {
    expect(check(dev, { verb: "write", keys: ["payments/a", "svc/x/flags/b", "other"], environments: ["dev"] })).toBe('token:dev may not write key "other"');
  });

  it("environments: a grant limited to some refuses a plan that serves others, or a value served everywhere", () => {
    expect(check(dev, { verb: "rollout", keys: ["payments/fee"], environments: ["dev", "prod"] })).toBe('token:dev may not rollout key "payments/fee" in dev, prod');
    expect(check(dev, { verb: "write", keys: ["payments/fee"], environments: "all" })).toBe(
      'token:dev may not write key "payments/fee" in every environment (a value served without rings)',
    );
    expect(check(dev, { verb: "rollout", keys: ["payments/fee"] })).toBeUndefined();
  });

  it("a prefix must be covered as a whole", () => {
    expect(check(dev, { verb: "read", prefix: "" })).toBe('token:dev may not admin prefix "_ctm/"');
    expect(check([{ verbs: ["read"], keys: ["payments/**"] }], { verb: "read", prefix: "payments/" })).toBeUndefined();
    expect(check([{ verbs: ["read"], keys: ["payments/**"] }], { verb: "read", prefix: "payments/eu/" })).toBeUndefined();
    expect(check([{ verbs: ["read"], keys: ["payments/**"] }], { verb: "read", prefix: "payments" })).toBe('token:dev may not read prefix "payments"');
    expect(check([{ verbs: ["read"], keys: ["payments/*"] }], { verb: "read", prefix: "payments/" })).toBe('token:dev may not read prefix "payments/"');
    expect(check([{ verbs: ["read"], keys: ["svc/*/flags/**"] }], { verb: "read", prefix: "svc/a/flags/x" })).toBeUndefined();
    expect(check([{ verbs: ["read"], keys: ["svc/*/flags/**"] }], { verb: "read", prefix: "svc/" })).toBe('token:dev may not read prefix "svc/"');
  });

  it("keys under _ctm/ need admin whatever the verb", () => {
    expect(check(dev, { verb: "read", keys: ["_ctm/validators/x"] })).toBe('token:dev may not admin key "_ctm/validators/x"');
    expect(check([{ verbs: ["admin"], keys: ["**"] }], { verb: "read", keys: ["_ctm/validators/x"] })).toBeUndefined();
    expect(check([{ verbs: ["read", "admin"], keys: ["**"] }], { verb: "read", prefix: "" })).toBeUndefined();
  });
});

describe("tokens", () => {
  it("are shown once as ctm_<id>_<secret>; the verifier matches only the secret", () => {
    const t = mintToken();
    const parsed = parseToken(t.token)!;
    expect(parsed.id).toBe(t.id);
    expect(secretMatches(parsed.secret, t.verifier)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}A`, t.verifier) && !parsed.secret.endsWith("A")).toBe(false);
    expect(parseToken("Bearer x")).toBeUndefined();
    expect(t.token).not.toContain(t.verifier);
  });
});
