/**
 * @ctm/client: the TypeScript SDK for ctm, the config time machine.
 * The OpenFeature provider is at "@ctm/client/openfeature".
 */
/** The grpc-js the client is built on: use it for credentials, metadata and interceptors. */
export * as grpc from "@grpc/grpc-js";
export { CtmClient, RolloutApi, type ApplyOp, type CallOptions, type CtmClientOptions, type PointInTime, type TlsOptions, type WriteOptions } from "./client.js";
export { CtmCache, commonPrefix, type CacheChange, type CacheOptions, type CacheSource } from "./cache.js";
export { CtmError } from "./errors.js";
export {
  AccessLogApi,
  HealthApi,
  ValidatorApi,
  type AccessLogQuery,
  type AccessRecordInput,
  type DefinitionWriteOptions,
  type MetricSampleInput,
  type TimeLike,
} from "./safety.js";
export { ChangeRequestApi, type ChangeOp, type ChangeProposal, type NewChangeRequest, type ReviewOptions } from "./change-requests.js";
export { WatchIterator, type WatchOptions } from "./watch.js";
export {
  BUCKETING_ALGORITHM,
  BUCKETS,
  bucket,
  evaluateEntry,
  inPercentage,
  pickVariant,
  thresholdFor,
  truthy,
  variantBucket,
  type Evaluation,
  type JsonValue,
  type Reason,
} from "./evaluate.js";
export { fromPbKind, fromPbReason, fromPbRollout, toPbReason, toRecord, type Context } from "./convert.js";
export { readSnapshotFile, writeSnapshotFile, type SnapshotData } from "./snapshot-file.js";
export { backoffDelay, DEFAULT_RETRY, DEFAULT_WATCH_BACKOFF, isRetrySafe, NEVER_RETRIED, READ_METHODS, type BackoffPolicy, type RetryPolicy } from "./retry.js";
export { RecordKind, type Entry } from "./gen/ctm/v1/record.js";
export { AttributeOperator, Reason as PbReason, type EvaluationContext, type RolloutPlan } from "./gen/ctm/v1/rollout.js";
export { PromoteTarget } from "./gen/ctm/v1/rollout_service.js";
export {
  WatchStatus,
  type ApplyResponse,
  type BlameResponse,
  type DeleteResponse,
  type DiffResponse,
  type GetAtResponse,
  type GetResponse,
  type HistoryResponse,
  type RollbackPrefixResponse,
  type RollbackResponse,
  type SetResponse,
  type SnapshotResponse,
  type WatchResponse,
} from "./gen/ctm/v1/config_service.js";
export type {
  AbortResponse,
  ExplainResponse,
  KillResponse,
  Milestone,
  PauseResponse,
  PromoteResponse,
  ResumeResponse,
  StatusResponse,
} from "./gen/ctm/v1/rollout_service.js";
export {
  ValueType,
  type AllowedValues,
  type DeleteValidatorResponse,
  type ListValidatorsResponse,
  type NumberRange,
  type SetValidatorResponse,
  type ValidateResponse,
  type ValidationRule,
  type Validator,
  type Violation,
} from "./gen/ctm/v1/validator_service.js";
export {
  HealthAction,
  Verdict,
  type CheckState,
  type DeleteHealthCheckResponse,
  type HealthCheck,
  type HttpProbe,
  type ListHealthChecksResponse,
  type MetricSample,
  type PrometheusQuery,
  type ReportMetricsResponse,
  type SetHealthCheckResponse,
} from "./gen/ctm/v1/health_check_service.js";
export type { AccessRecord, QueryAccessLogResponse, UploadAccessLogResponse } from "./gen/ctm/v1/access_log_service.js";
export {
  ChangeRequestState,
  type ApplyChangeRequestResponse,
  type ApproveChangeRequestResponse,
  type CancelChangeRequestResponse,
  type ChangeOperation,
  type ChangeRequest,
  type ChangeReview,
  type CreateChangeRequestResponse,
  type EditChangeRequestResponse,
  type GetChangeRequestResponse,
  type KeyChange,
  type ListChangeRequestsResponse,
  type RejectChangeRequestResponse,
  type SubmitChangeRequestResponse,
} from "./gen/ctm/v1/change_request_service.js";
