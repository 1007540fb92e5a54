import type { AdminServiceServer, Compaction, RetentionHold, RetentionPolicy as PbPolicy } from "../../gen/ctm/v1/admin_service.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { Hold, RetentionPolicy } from "../../domain/retention/retention-policy.js";
import type { CompactionOutcome } from "../../storage/compaction.js";
import type { CompactionReport, RetentionService } from "../../service/retention-service.js";
import type { StaleKey } from "../../service/stale-keys.js";
import { unary, type Rpc } from "./rpc-logger.js";

/** What ListStaleKeys asks of the service layer. */
export interface StaleKeySource {
  stale(q: { prefix: string; unreadForMs?: number; pageSize: number; pageToken: string }): Promise<{ keys: StaleKey[]; nextPageToken: string }>;
  /** When counting reads began. */
  readonly countingSince: number;
}

/** AdminService's retention and key lifecycle calls: Compact, GetRetention, ListStaleKeys. */
export function retentionHandlers(svc: RetentionService, lifecycle: StaleKeySource, header: () => ResponseHeader, rpc: Rpc): Pick<AdminServiceServer, "compact" | "getRetention" | "listStaleKeys"> {
  return {
    listStaleKeys: unary(rpc, "Admin.ListStaleKeys", (r) => r.prefix, async (r) => {
      const unreadForMs = r.unreadFor === undefined ? undefined : r.unreadFor.seconds * 1000 + Math.floor(r.unreadFor.nanos / 1e6);
      const page = await lifecycle.stale({ prefix: r.prefix, unreadForMs, pageSize: r.pageSize, pageToken: r.pageToken });
      return {
        header: header(),
        keys: page.keys.map((k) => ({
          key: k.record.key,
          reads: k.reads.reads,
          lastRead: k.reads.lastRead > 0 ? new Date(k.reads.lastRead) : undefined,
          version: k.record.version,
          lastChange: new Date(k.record.time),
          lastAuthor: k.record.author,
          reason: k.reason,
        })),
        nextPageToken: page.nextPageToken,
        countingSince: new Date(lifecycle.countingSince),
      };
    }),
    compact: unary(rpc, "Admin.Compact", () => undefined, async (r) => {
      const outcome = await svc.compact({ author: r.author, message: r.message });
      return { header: header(), compaction: toPbCompaction({ ...outcome, ...outcome.report }) };
    }),
    getRetention: unary(rpc, "Admin.GetRetention", () => undefined, () => {
      const { revision, time } = svc.horizon;
      const last = svc.last;
      return {
        header: header(),
        oldestRevision: revision,
        oldestTime: time > 0 ? new Date(time) : undefined,
        policies: svc.activePolicies.map(toPbPolicy),
        holds: svc.activeHolds.map(toPbHold),
        lastCompaction: last && toPbCompaction(last),
        running: svc.running,
      };
    }),
  };
}

const duration = (ms: number | undefined) => (ms === undefined ? undefined : { seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1_000_000 });

function toPbCompaction(c: CompactionOutcome | CompactionReport): Compaction {
  return {
    horizon: c.horizon,
    previousHorizon: c.previousHorizon,
    removed: c.removed,
    stripped: c.stripped,
    archiveFile: c.archive?.file ?? "",
    archiveSha256: c.archive?.sha256 ?? "",
    revision: "revision" in c ? c.revision : 0,
    time: "time" in c ? new Date(c.time) : undefined,
    bytesFreed: c.bytesFreed ?? 0,
  };
}

const toPbPolicy = (p: RetentionPolicy): PbPolicy => ({
  name: p.name,
  keys: [...p.keys],
  keepVersions: p.keepVersions ?? 0,
  keepFor: duration(p.keepForMs),
  keepAuditFor: duration(p.keepAuditForMs),
});

const toPbHold = (h: Hold): RetentionHold => ({ name: h.name, keys: [...h.keys], reason: h.reason });
