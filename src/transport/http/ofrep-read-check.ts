import { authorize, type Access } from "../../domain/auth/authorize.js";
import type { Principal } from "../../service/auth-service.js";
import { ACCESS_RULES, type AccessContext } from "../grpc/access-rules.js";

const GET = "/ctm.v1.ConfigService/Get";

/**
 * Whether `principal` may Get a key, by the very rule gRPC Get is authorized by. A filter over
 * many keys, not a refusal: what it leaves out is not counted as a denial.
 */
export function readCheck(principal: Principal, context: AccessContext): (key: string) => boolean {
  const rule = ACCESS_RULES[GET];
  if (rule === undefined) return () => false;
  if (typeof rule !== "function") return () => true;
  const accesses = rule as (r: { key: string }, c: AccessContext) => Access[];
  return (key) => accesses({ key }, context).every((a) => authorize(principal.name, principal.grants, a) === undefined);
}
