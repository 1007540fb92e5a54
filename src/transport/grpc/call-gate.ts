import type * as grpc from "@grpc/grpc-js";
import type { CtmError } from "../../domain/errors.js";
import { isCtmError } from "../../domain/errors.js";
import type { AuthService, Principal } from "../../service/auth-service.js";
import type { AccessContext, AccessRule } from "./access-rules.js";
import type { ServerSurfaceCall } from "../tls/peer-principal.js";
import type { FailurePenalty } from "./failure-penalty.js";

/** What the chain needs to authenticate and authorize calls; absent when auth is off. */
export interface CallAuth {
  service: AuthService;
  context: AccessContext;
  /** The verified client certificate's principal (`cert:<subject>`), under mTLS. */
  certificateOf?: (call: ServerSurfaceCall) => string | undefined;
  penalty?: FailurePenalty;
}

export type Admission = { principal: Principal | undefined } | { refused: CtmError; delayMs: number };

const headerOf = (md: grpc.Metadata): string | undefined => {
  const v = md.get("authorization");
  if (v.length === 0) return undefined;
  // Two headers, or a binary one, are malformed rather than a choice between them.
  return v.length === 1 && typeof v[0] === "string" ? v[0] : "";
};

/**
 * Authentication, then authorization of every access the request asks for. A refusal says
 * why; a peer that keeps failing authentication waits longer for each refusal.
 */
export function admit(auth: CallAuth, rule: AccessRule, call: ServerSurfaceCall & { metadata: grpc.Metadata; getPeer(): string; request?: unknown }): Admission {
  if (rule === "public") return { principal: undefined };
  const peer = call.getPeer();
  try {
    const principal = auth.service.authenticate(headerOf(call.metadata), auth.certificateOf?.(call));
    if (rule !== "authenticated") for (const access of rule(call.request as never, auth.context)) auth.service.authorize(principal, access);
    return { principal };
  } catch (e) {
    if (!isCtmError(e)) throw e;
    const delayMs = e.code === "unauthenticated" ? (auth.penalty?.failed(peer) ?? 0) : 0;
    return { refused: e, delayMs };
  }
}
