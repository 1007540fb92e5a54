import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { Reason } from "@ctm/core/rollout/plan";
import type { AccessLog } from "../../service/access-log.js";
import type { HealthService } from "../../service/health-service.js";
import type { ValidatorService } from "../../service/validator-service.js";
import type { AccessLogServiceServer, AccessRecord as PbAccessRecord } from "../../gen/ctm/v1/access_log_service.js";
import type { HealthCheckServiceServer } from "../../gen/ctm/v1/health_check_service.js";
import type { ValidatorServiceServer } from "../../gen/ctm/v1/validator_service.js";
import type { AccessRecord } from "../../storage/access-log-store.js";
import { toEntry } from "./entry-mapper.js";
import { toPbCheckState, toHealthCheck, toPbHealthCheck } from "./health-mapper.js";
import { durationMs, fromPbReason, toPbReason, toRolloutInput } from "./rollout-mapper.js";
import { checkKey } from "../../domain/limits.js";
import { unary, type Rpc } from "./rpc-logger.js";
import { toPbValidator, toPbViolation, toValidator } from "./validator-mapper.js";

type Header = () => ResponseHeader;

export function validatorHandlers(svc: ValidatorService, header: Header, rpc: Rpc): ValidatorServiceServer {
  return {
    setValidator: unary(rpc, "Validator.Set", (r) => r.validator?.name, async (r) => {
      const { record, existing } = await svc.set(toValidator(r.validator), r.force, r);
      return { header: header(), entry: toEntry(record), existingViolations: existing.map(toPbViolation) };
    }),
    // The write first: a header read before the await names the revision before it.
    deleteValidator: unary(rpc, "Validator.Delete", (r) => r.name, async (r) => {
      const entry = toEntry(await svc.delete(r.name, r));
      return { header: header(), entry };
    }),
    listValidators: unary(rpc, "Validator.List", (r) => r.key, (r) => ({ header: header(), validators: svc.list(r.key).map(toPbValidator) })),
    validate: unary(rpc, "Validator.Validate", (r) => r.key, (r) => {
      const violations = svc.validate(r.key, r.value, r.rollout && toRolloutInput(r.rollout));
      return { header: header(), valid: violations.length === 0, violations: violations.map(toPbViolation) };
    }),
  };
}

export function healthCheckHandlers(svc: HealthService, header: Header, rpc: Rpc): HealthCheckServiceServer {
  return {
    // The write first: a header read before the await names the revision before it.
    setHealthCheck: unary(rpc, "HealthCheck.Set", (r) => r.check?.name, async (r) => {
      const entry = toEntry(await svc.set(toHealthCheck(r.check), r));
      return { header: header(), entry };
    }),
    deleteHealthCheck: unary(rpc, "HealthCheck.Delete", (r) => r.name, async (r) => {
      const entry = toEntry(await svc.delete(r.name, r));
      return { header: header(), entry };
    }),
    listHealthChecks: unary(rpc, "HealthCheck.List", (r) => r.key, (r) => {
      const { checks, states } = svc.list(r.key);
      return { header: header(), checks: checks.map(toPbHealthCheck), states: states.map(toPbCheckState) };
    }),
    getHealthHistory: unary(rpc, "HealthCheck.GetHistory", (r) => r.key, (r) => ({ header: header(), points: svc.history.of(checkKey(r.key)).map(toPbCheckState) })),
    reportMetrics: unary(rpc, "HealthCheck.ReportMetrics", (r) => r.samples[0]?.key, (r) => ({
      header: header(),
      accepted: svc.report(r.samples.map((s) => ({ key: s.key, variant: s.variant, requests: s.requests, errors: s.errors, time: s.time?.getTime() }))),
    })),
  };
}

const toPbAccess = (r: AccessRecord): PbAccessRecord => ({ ...r, time: new Date(r.time), reason: toPbReason(r.reason) });
const fromPbAccess = (r: PbAccessRecord): AccessRecord => ({
  time: r.time?.getTime() ?? 0,
  requestId: r.requestId,
  unitId: r.unitId,
  key: r.key,
  version: r.version,
  revision: r.revision,
  variant: r.variant,
  reason: fromPbReason(r.reason) as Reason,
  source: r.source,
});

export function accessLogHandlers(svc: AccessLog, header: Header, rpc: Rpc): AccessLogServiceServer {
  return {
    queryAccessLog: unary(rpc, "AccessLog.Query", (r) => r.key || r.requestId || r.unitId, async (r) => {
      const { records, nextPageToken } = await svc.query({
        requestId: r.requestId || undefined,
        unitId: r.unitId || undefined,
        key: r.key || undefined,
        from: r.startTime?.getTime(),
        to: r.endTime?.getTime(),
        limit: r.limit,
        pageToken: r.pageToken,
      });
      return { header: header(), records: records.map(toPbAccess), nextPageToken };
    }),
    summarizeAccessLog: unary(rpc, "AccessLog.Summarize", (r) => r.key, async (r) => {
      const s = await svc.summarize({ key: r.key, from: r.startTime?.getTime(), to: r.endTime?.getTime(), bucketMs: r.bucket && durationMs(r.bucket) });
      return {
        header: header(),
        buckets: s.buckets.map((b) => ({ startTime: new Date(b.start), variants: Object.fromEntries(b.variants) })),
        records: s.records,
        truncated: s.truncated,
      };
    }),
    uploadAccessLog: unary(rpc, "AccessLog.Upload", (r) => r.records[0]?.key, (r) => ({ header: header(), ...svc.upload(r.records.map(fromPbAccess)) })),
  };
}
