import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { AdminServiceServer, Verification } from "../../gen/ctm/v1/admin_service.js";
import { VerificationScope } from "../../gen/ctm/v1/admin_service.js";
import { CtmError } from "../../domain/errors.js";
import type { IntegrityService } from "../../service/integrity-service.js";
import type { VerifyReport } from "../../storage/verify-report.js";
import { unary, type Rpc } from "./rpc-logger.js";

type Header = () => ResponseHeader;

/** AdminService: never gated by the store's refusal, since it is how an operator learns why. */
export function adminHandlers(svc: IntegrityService, header: Header, rpc: Rpc): Pick<AdminServiceServer, "verify" | "getVerification"> {
  const ungated: Rpc = { ...rpc, gate: undefined };
  return {
    verify: unary(ungated, "Admin.Verify", () => undefined, async () => {
      const report = await svc.verify();
      return { header: header(), verification: toVerification(report) };
    }),
    getVerification: unary(ungated, "Admin.GetVerification", () => undefined, () => {
      const last = svc.last;
      if (last === undefined) throw new CtmError("unavailable", "the store has not been verified yet");
      return { header: header(), verification: toVerification(last) };
    }),
  };
}

export function toVerification(r: VerifyReport): Verification {
  return {
    ok: r.ok,
    scope: r.scope === "full" ? VerificationScope.VERIFICATION_SCOPE_FULL : VerificationScope.VERIFICATION_SCOPE_TAIL,
    fromRevision: r.from,
    toRevision: r.to,
    recordsChecked: r.recordsChecked,
    firstBadRevision: r.firstBadRevision ?? 0,
    reason: r.reason ?? "",
    headHash: r.headHash,
    finishedAt: new Date(r.finishedAt),
    duration: { seconds: Math.trunc(r.durationMs / 1000), nanos: Math.round((r.durationMs % 1000) * 1e6) },
  };
}
