/**
 * The safety services as typed APIs of CtmClient: `client.validators` (ValidatorService),
 * `client.health` (HealthCheckService) and `client.accessLog` (AccessLogService).
 * Same conventions as the rest of the client: per-call deadlines, plain JSON values,
 * errors as CtmError, and the retry rule of retry.ts.
 */
import type { JsonValue } from "@ctm/core/json";
import type { CallOptions, CtmClient } from "./client.js";
import {
  QueryAccessLogRequest,
  SummarizeAccessLogRequest,
  UploadAccessLogRequest,
  type AccessRecord,
  type QueryAccessLogResponse,
  type SummarizeAccessLogResponse,
  type UploadAccessLogResponse,
} from "./gen/ctm/v1/access_log_service.js";
import {
  DeleteHealthCheckRequest,
  GetHealthHistoryRequest,
  ListHealthChecksRequest,
  ReportMetricsRequest,
  SetHealthCheckRequest,
  type DeleteHealthCheckResponse,
  type GetHealthHistoryResponse,
  type HealthCheck,
  type ListHealthChecksResponse,
  type ReportMetricsResponse,
  type SetHealthCheckResponse,
} from "./gen/ctm/v1/health_check_service.js";
import type { Reason as PbReason } from "./gen/ctm/v1/rollout.js";
import type { DeepPartial, RolloutPlan } from "./gen/ctm/v1/rollout.js";
import {
  DeleteValidatorRequest,
  ListValidatorsRequest,
  SetValidatorRequest,
  ValidateRequest,
  type DeleteValidatorResponse,
  type ListValidatorsResponse,
  type SetValidatorResponse,
  type ValidateResponse,
  type Validator,
} from "./gen/ctm/v1/validator_service.js";

/** Author and message of a write to a validator or a health check (themselves versioned keys). */
export interface DefinitionWriteOptions extends CallOptions {
  author?: string;
  message?: string;
}

/** A time: a Date, ms since the epoch, or RFC 3339. */
export type TimeLike = Date | number | string;
const toDate = (t: TimeLike | undefined): Date | undefined => (t === undefined ? undefined : t instanceof Date ? t : new Date(t));

/** ValidatorService, as `client.validators`. */
export class ValidatorApi {
  constructor(private readonly c: CtmClient) {}

  /**
   * Adds or replaces a validator (key `_ctm/validators/<name>`). Refused with
   * FAILED_PRECONDITION when current values violate it, unless `force` (then the response
   * lists them in `existingViolations`). Retried on UNAVAILABLE only with `expectedVersion`.
   */
  setValidator(validator: DeepPartial<Validator>, o: DefinitionWriteOptions & { force?: boolean; expectedVersion?: number } = {}): Promise<SetValidatorResponse> {
    const req = SetValidatorRequest.fromPartial({ validator, force: o.force ?? false, author: this.c.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion });
    return this.c.unary("Validator.Set", this.c.validatorStub.setValidator, req, o, this.c.validatorStub);
  }

  /** Removes a validator (a tombstone on its key). Never retried: it has no version guard. */
  deleteValidator(name: string, o: DefinitionWriteOptions = {}): Promise<DeleteValidatorResponse> {
    const req = DeleteValidatorRequest.fromPartial({ name, author: this.c.author(o), message: o.message ?? "" });
    return this.c.unary("Validator.Delete", this.c.validatorStub.deleteValidator, req, o, this.c.validatorStub);
  }

  /** Every validator, or those whose key patterns match `key`. A read: retried. */
  listValidators(o: CallOptions & { key?: string } = {}): Promise<ListValidatorsResponse> {
    return this.c.unary("Validator.List", this.c.validatorStub.listValidators, ListValidatorsRequest.fromPartial({ key: o.key ?? "" }), o, this.c.validatorStub);
  }

  /** Checks a value (and a rollout's candidate values) against the validators of `key`, writing nothing. A read: retried. */
  validate(key: string, value: JsonValue, o: CallOptions & { rollout?: DeepPartial<RolloutPlan> } = {}): Promise<ValidateResponse> {
    const req = ValidateRequest.fromPartial({ key, rollout: o.rollout });
    req.value = value;
    return this.c.unary("Validator.Validate", this.c.validatorStub.validate, req, o, this.c.validatorStub);
  }
}

/** One report of request and error counts, for `client.health.reportMetrics`. */
export interface MetricSampleInput {
  key: string;
  /** "stable", "new" or a variant's name; every variant but "stable" counts as canary. */
  variant: string;
  requests: number;
  errors: number;
  /** When the requests happened (default: now). */
  time?: TimeLike;
}

/** HealthCheckService, as `client.health`. */
export class HealthApi {
  constructor(private readonly c: CtmClient) {}

  /** Adds or replaces a health check (key `_ctm/health/<name>`). Retried on UNAVAILABLE only with `expectedVersion`. */
  setHealthCheck(check: DeepPartial<HealthCheck>, o: DefinitionWriteOptions & { expectedVersion?: number } = {}): Promise<SetHealthCheckResponse> {
    const req = SetHealthCheckRequest.fromPartial({ check, author: this.c.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion });
    return this.c.unary("HealthCheck.Set", this.c.healthStub.setHealthCheck, req, o, this.c.healthStub);
  }

  /** Removes a health check. Never retried: it has no version guard. */
  deleteHealthCheck(name: string, o: DefinitionWriteOptions = {}): Promise<DeleteHealthCheckResponse> {
    const req = DeleteHealthCheckRequest.fromPartial({ name, author: this.c.author(o), message: o.message ?? "" });
    return this.c.unary("HealthCheck.Delete", this.c.healthStub.deleteHealthCheck, req, o, this.c.healthStub);
  }

  /** The checks (all, or those that apply to `key`) and their latest verdict per key. A read: retried. */
  listHealthChecks(o: CallOptions & { key?: string } = {}): Promise<ListHealthChecksResponse> {
    return this.c.unary("HealthCheck.List", this.c.healthStub.listHealthChecks, ListHealthChecksRequest.fromPartial({ key: o.key ?? "" }), o, this.c.healthStub);
  }

  /** What the health loop saw for `key`, tick by tick, oldest first (kept in memory by the daemon since it started). A read: retried. */
  getHealthHistory(key: string, o: CallOptions = {}): Promise<GetHealthHistoryResponse> {
    return this.c.unary("HealthCheck.GetHistory", this.c.healthStub.getHealthHistory, GetHealthHistoryRequest.fromPartial({ key }), o, this.c.healthStub);
  }

  /**
   * Reports request and error counts per key and variant. **Never retried**: the daemon adds
   * the counts up, so a retry after an UNAVAILABLE that did land would count them twice.
   */
  reportMetrics(samples: MetricSampleInput[], o: CallOptions = {}): Promise<ReportMetricsResponse> {
    const req = ReportMetricsRequest.fromPartial({
      samples: samples.map((s) => ({ key: s.key, variant: s.variant, requests: s.requests, errors: s.errors, time: toDate(s.time) })),
    });
    return this.c.unary("HealthCheck.ReportMetrics", this.c.healthStub.reportMetrics, req, o, this.c.healthStub);
  }
}

/** A query of the access log: at least one of requestId, unitId, key or a time bound. */
export interface AccessLogQuery {
  requestId?: string;
  unitId?: string;
  key?: string;
  startTime?: TimeLike;
  endTime?: TimeLike;
  /** Records per page (daemon default 100, at most 1000). */
  limit?: number;
  pageToken?: string;
}

/** One access record to upload (an SDK that evaluated locally): `key` and a requestId or unitId are required. */
export interface AccessRecordInput {
  key: string;
  requestId?: string;
  unitId?: string;
  /** Default: when the daemon receives it. */
  time?: TimeLike;
  version?: number;
  revision?: number;
  variant?: string;
  reason?: PbReason;
  /** Default "sdk". */
  source?: string;
}

/** AccessLogService, as `client.accessLog`. */
export class AccessLogApi {
  constructor(private readonly c: CtmClient) {}

  /** One page of matching records, newest first (`nextPageToken` "" on the last page). A read: retried. */
  query(q: AccessLogQuery, o: CallOptions = {}): Promise<QueryAccessLogResponse> {
    const req = QueryAccessLogRequest.fromPartial({
      requestId: q.requestId ?? "",
      unitId: q.unitId ?? "",
      key: q.key ?? "",
      startTime: toDate(q.startTime),
      endTime: toDate(q.endTime),
      limit: q.limit ?? 0,
      pageToken: q.pageToken ?? "",
    });
    return this.c.unary("AccessLog.Query", this.c.accessLogStub.queryAccessLog, req, o, this.c.accessLogStub);
  }

  /**
   * `key`'s evaluations per variant in time buckets (default: the last hour in 60 buckets);
   * `bucketMs` sets the width. A read: retried.
   */
  summarize(key: string, o: CallOptions & { startTime?: TimeLike; endTime?: TimeLike; bucketMs?: number } = {}): Promise<SummarizeAccessLogResponse> {
    const bucket = o.bucketMs === undefined ? undefined : { seconds: Math.floor(o.bucketMs / 1000), nanos: (o.bucketMs % 1000) * 1e6 };
    const req = SummarizeAccessLogRequest.fromPartial({ key, startTime: toDate(o.startTime), endTime: toDate(o.endTime), bucket });
    return this.c.unary("AccessLog.Summarize", this.c.accessLogStub.summarizeAccessLog, req, o, this.c.accessLogStub);
  }

  /** Every matching record, newest first, fetching pages of `limit` as it goes. */
  async *queryAll(q: Omit<AccessLogQuery, "pageToken">, o: CallOptions = {}): AsyncGenerator<AccessRecord> {
    let pageToken = "";
    do {
      const page = await this.query({ ...q, pageToken }, o);
      yield* page.records;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /**
   * Uploads records of locally evaluated flags. Never retried: a retry after an UNAVAILABLE
   * that did land would log them twice.
   */
  upload(records: AccessRecordInput[], o: CallOptions = {}): Promise<UploadAccessLogResponse> {
    const req = UploadAccessLogRequest.fromPartial({
      records: records.map((r) => ({
        key: r.key,
        requestId: r.requestId ?? "",
        unitId: r.unitId ?? "",
        time: toDate(r.time),
        version: r.version ?? 0,
        revision: r.revision ?? 0,
        variant: r.variant ?? "",
        reason: r.reason,
        source: r.source ?? "",
      })),
    });
    return this.c.unary("AccessLog.Upload", this.c.accessLogStub.uploadAccessLog, req, o, this.c.accessLogStub);
  }
}
