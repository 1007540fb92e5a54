/**
 * The API's answers as proto3 JSON spells them (proto/ctm/v1): camelCase names, uint64 as
 * strings, times as RFC 3339 strings, enums by name, and fields at their default left out.
 * Only what the console reads is declared.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Header {
  revision: string;
}

export interface RolloutJson {
  plan?: { stable?: Json; steps?: { start?: number }; ramp?: { from?: number }; rings?: { order?: string[] }; variants?: { name: string }[] };
  state?: { startedAt?: string; paused?: boolean; killed?: boolean };
}

export interface Entry {
  key: string;
  value?: Json;
  version: string;
  revision: string;
  time?: string;
  author?: string;
  message?: string;
  kind?: string;
  deleted?: boolean;
  rolledBackTo?: string;
  cause?: string;
  rollout?: RolloutJson;
  principal?: string;
  valueCompacted?: boolean;
  breakGlass?: boolean;
  changeRequest?: string;
}

export interface KeySummary {
  entry: Entry;
  rolling?: boolean;
  reads?: string;
  lastRead?: string;
}

export interface Paged {
  nextPageToken?: string;
}

export interface ListKeysResponse extends Paged {
  header?: Header;
  keys?: KeySummary[];
}

export interface EntriesResponse extends Paged {
  header?: Header;
  entries?: Entry[];
}

export interface HistoryResponse extends EntriesResponse {
  compactedBelowVersion?: string;
}

export interface PatchOperation {
  op: string;
  path?: string;
  from?: string;
  value?: Json;
}

export interface DiffResponse {
  from?: Entry;
  to?: Entry;
  operations?: PatchOperation[];
}

export interface BlameLine {
  path?: string;
  value?: Json;
  version: string;
  time?: string;
  author?: string;
  message?: string;
}

export interface BlameResponse {
  entry?: Entry;
  lines?: BlameLine[];
  /** More leaves than one answer lists: the first ones are in `lines`. */
  truncated?: boolean;
}

export interface GetAtResponse {
  revision: string;
  entry?: Entry;
  value?: Json;
}

export interface SnapshotResponse extends Paged {
  revision: string;
  entries?: Entry[];
}

export interface Milestone {
  index: number;
  description?: string;
  dueTime?: string;
  reached?: boolean;
  percentage?: number;
  ring?: string;
}

export interface StatusResponse {
  entry?: Entry;
  active?: boolean;
  percentage?: number;
  ring?: string;
  paused?: boolean;
  killed?: boolean;
  activated?: boolean;
  nextMilestone?: Milestone;
  milestones?: Milestone[];
}

export interface VariantCounts {
  startTime: string;
  variants?: Record<string, string>;
}

export interface SummarizeAccessLogResponse {
  buckets?: VariantCounts[];
  records?: string;
  truncated?: boolean;
}

export interface CheckState {
  check?: string;
  verdict?: string;
  canaryErrorRate?: number;
  stableErrorRate?: number;
  canarySamples?: string;
  stableSamples?: string;
  checkedAt?: string;
  detail?: string;
}

export interface HealthHistoryResponse {
  points?: CheckState[];
}

export interface WhoAmIResponse {
  principal?: string;
  roles?: string[];
  authEnabled?: boolean;
}

export interface CheckAccessResponse {
  /** One per access asked, in order. */
  allowed?: boolean[];
}

export interface AccessRecord {
  time?: string;
  requestId?: string;
  unitId?: string;
  key: string;
  version?: string;
  revision?: string;
  variant?: string;
  reason?: string;
  source?: string;
}

export interface QueryAccessLogResponse extends Paged {
  records?: AccessRecord[];
}

export interface WatchResponse {
  header?: Header;
  status?: string;
  events?: Entry[];
}

/** Every kind a record may have, in the order the proto declares them. */
export const RECORD_KINDS = [
  "RECORD_KIND_SET",
  "RECORD_KIND_DELETE",
  "RECORD_KIND_ROLLBACK",
  "RECORD_KIND_ROLLOUT_MILESTONE",
  "RECORD_KIND_ROLLOUT_FINALIZED",
  "RECORD_KIND_ROLLOUT_PAUSED",
  "RECORD_KIND_ROLLOUT_RESUMED",
  "RECORD_KIND_ROLLOUT_PROMOTED",
  "RECORD_KIND_ROLLOUT_ABORTED",
  "RECORD_KIND_ROLLOUT_KILLED",
  "RECORD_KIND_AUTO_ROLLBACK",
  "RECORD_KIND_COMPACTION",
] as const;
