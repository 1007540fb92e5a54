import { describe, expect, it } from "vitest";
import { CtmError } from "../../domain/errors.js";
import { GetRequest } from "../../gen/ctm/v1/config_service.js";
import { checkedDeserializer, labelOf, Refusal } from "./checked-service.js";
import { protoRegistry } from "./proto-registry.js";

describe("checkedDeserializer", () => {
  const decode = checkedDeserializer(protoRegistry().getMessage("ctm.v1.GetRequest")!, (b) => GetRequest.decode(b));

  it("decodes what the checks accept", () => {
    expect(decode(Buffer.from(GetRequest.encode({ key: "k", context: undefined, consistent: false }).finish()))).toEqual({ key: "k", context: undefined, consistent: false });
  });

  it("never throws: a refusal carries INVALID_ARGUMENT naming the field", () => {
    const r = decode(Buffer.from([10, 9, 0x6b]));
    expect(r).toBeInstanceOf(Refusal);
    expect((r as Refusal).error).toBeInstanceOf(CtmError);
    expect((r as Refusal).error).toMatchObject({ code: "invalid_argument", field: "request" });
    expect((decode(Buffer.from([10, 1, 0xff])) as Refusal).error.field).toBe("key");
  });
});

describe("labelOf", () => {
  it("names refusals as the handlers name their calls in logs and metrics", () => {
    expect(labelOf("/ctm.v1.ConfigService/GetAt")).toBe("GetAt");
    expect(labelOf("/ctm.v1.RolloutService/Status")).toBe("Rollout.Status");
    expect(labelOf("/ctm.v1.ValidatorService/SetValidator")).toBe("Validator.Set");
    expect(labelOf("/ctm.v1.ValidatorService/ListValidators")).toBe("Validator.List");
    expect(labelOf("/ctm.v1.ValidatorService/Validate")).toBe("Validator.Validate");
    expect(labelOf("/ctm.v1.HealthCheckService/ReportMetrics")).toBe("HealthCheck.ReportMetrics");
    expect(labelOf("/ctm.v1.AccessLogService/QueryAccessLog")).toBe("AccessLog.Query");
    expect(labelOf("/grpc.health.v1.Health/Check")).toBe("Health.Check");
  });
});
