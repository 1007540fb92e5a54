import type * as grpc from "@grpc/grpc-js";
import type { LogRecord } from "@ctm/core/record";
import type { ApplyOp, ConfigService } from "../../service/config-service.js";
import type { ConfigServiceServer, ApplyOperation, ApplyRequest, DeleteRequest, GetRequest, GetResponse, RollbackPrefixRequest, RollbackRequest, SetRequest, SnapshotRequest } from "../../gen/ctm/v1/config_service.js";
import { toBlameLine, toEntry, toPatchOperation, toPoint } from "./entry-mapper.js";
import { toContext, toPbReason, toRolloutInput } from "./rollout-mapper.js";
import { unary, type Rpc } from "./rpc-logger.js";
import { GetResponseCache } from "./get-response-cache.js";
import { SnapshotReadAhead } from "./snapshot-read-ahead.js";
import { encodeSnapshotBody, withHeader } from "./snapshot-response.js";
import { encodeWriteResponse, encodeWriteResponseInSlices } from "./write-response.js";
import { headerOf } from "./response-header.js";
import { watchHandler, type WatchOptions } from "./watch-handler.js";

/** Get answers pre-encoded GetResponse bytes; the service definition's serializer passes them through. */
export type GetWire = Buffer | GetResponse;

/** Get, Snapshot and the writes answer bytes encoded here; the service definition passes them through. */
export type ConfigHandlers = Omit<ConfigServiceServer, "get" | "snapshot" | "set" | "delete" | "rollback" | "apply" | "rollbackPrefix"> & {
  get: grpc.handleUnaryCall<GetRequest, GetWire>;
  snapshot: grpc.handleUnaryCall<SnapshotRequest, Buffer>;
  set: grpc.handleUnaryCall<SetRequest, Buffer>;
  delete: grpc.handleUnaryCall<DeleteRequest, Buffer>;
  rollback: grpc.handleUnaryCall<RollbackRequest, Buffer>;
  apply: grpc.handleUnaryCall<ApplyRequest, Buffer>;
  rollbackPrefix: grpc.handleUnaryCall<RollbackPrefixRequest, Buffer>;
};

/** Proto <-> domain mapping for ConfigService; the use cases live in the service. */
export function configHandlers(svc: ConfigService, rpc: Rpc, watchOpts: WatchOptions): ConfigHandlers {
  const header = () => headerOf(svc);
  const byKey = (r: { key: string }) => r.key;
  const byPrefix = (r: { prefix: string }) => r.prefix;
  const answers = new GetResponseCache();
  const pages = new SnapshotReadAhead();
  const isCurrent = (rec: LogRecord) => svc.isCurrent(rec);
  return {
    set: unary(rpc, "Set", byKey, async (r) => {
      const rec = await svc.set({ ...r, rollout: r.rollout && toRolloutInput(r.rollout) });
      return encodeWriteResponse(header(), [[2, rec]]);
    }),
    // The hot path answers with cached, pre-encoded bytes.
    get: unary(rpc, "Get", byKey, (r): GetWire | Promise<GetWire> => {
      const answer = (): GetWire => {
        const { record, resolution } = svc.resolve(r.key, toContext(r.context));
        return answers.bytes(record, header(), resolution);
      };
      return r.consistent ? svc.syncToHead().then(answer) : answer();
    }),
    delete: unary(rpc, "Delete", byKey, async (r) => {
      const rec = await svc.delete(r);
      return encodeWriteResponse(header(), [[2, rec]]);
    }),
    history: unary(rpc, "History", byKey, async (r) => {
      const { records, nextPageToken, compactedBelowVersion } = await svc.history(r.key, r.limit, r.pageToken);
      return { header: header(), entries: records.map(toEntry), nextPageToken, compactedBelowVersion };
    }),
    diff: unary(rpc, "Diff", byKey, async (r) => {
      const d = await svc.diff(r.key, r.fromVersion, r.toVersion);
      return {
        header: header(),
        from: d.from && toEntry(d.from),
        to: toEntry(d.to),
        operations: d.ops.map(toPatchOperation),
      };
    }),
    blame: unary(rpc, "Blame", byKey, async (r) => {
      const b = await svc.blame(r.key, r.path);
      return { header: header(), entry: toEntry(b.record), lines: b.lines.map(toBlameLine), truncated: b.truncated };
    }),
    rollback: unary(rpc, "Rollback", byKey, async (r) => {
      const rec = await svc.rollback(r);
      return encodeWriteResponse(header(), [[2, rec]]);
    }),
    getAt: unary(rpc, "GetAt", byKey, async (r) => {
      const { revision, record, resolution } = await svc.getAt(r.key, toPoint(r.at), toContext(r.context));
      return {
        header: header(),
        revision,
        entry: toEntry(record),
        value: resolution.value,
        variant: resolution.variant,
        reason: toPbReason(resolution.reason),
      };
    }),
    snapshot: unary(rpc, "Snapshot", byPrefix, async (r) => {
      if (r.consistent && r.pageToken === "") await svc.syncToHead();
      const at = toPoint(r.at);
      const read = async (pageToken: string) => encodeSnapshotBody(await svc.snapshotStored(r.prefix, at, r.pageSize, pageToken), r.prefix, isCurrent);
      return withHeader(header(), await pages.page(r, read, (revision) => revision >= svc.firstRevision));
    }),
    apply: unary(rpc, "Apply", (r) => r.operations.map(opKey).join(","), async (r) => {
      const records = await svc.apply(r.operations.map(toApplyOp), r);
      return encodeWriteResponse(header(), [[2, records]]);
    }),
    rollbackPrefix: unary(rpc, "RollbackPrefix", byPrefix, async (r) => {
      const { revision, records, restored, firstRevision, lastRevision } = await svc.rollbackPrefix(r.prefix, toPoint(r.to), r);
      return encodeWriteResponseInSlices(header(), [
        [2, revision],
        [3, records],
        [4, restored],
        [5, firstRevision],
        [6, lastRevision],
      ]);
    }),
    watch: watchHandler(svc, rpc, watchOpts),
  };
}

const opKey = (op: ApplyOperation): string => op.operation?.value.key ?? "";

/** An operation with neither set nor delete is reported by the service as an empty key. */
function toApplyOp(op: ApplyOperation): ApplyOp {
  const o = op.operation;
  if (o?.$case === "delete") return { type: "delete", key: o.value.key, expectedVersion: o.value.expectedVersion, force: o.value.force };
  const rollout = o?.value.rollout;
  return { type: "set", key: o?.value.key ?? "", value: o?.value.value, expectedVersion: o?.value.expectedVersion, rolloutInput: rollout && toRolloutInput(rollout) };
}
