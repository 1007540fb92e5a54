import { Compare_CompareTarget as Target } from "../../gen/etcd/etcdserverpb/rpc.js";
import { readU64, u64 } from "../level/codec.js";
import type { AppliedLog } from "./applied-log.js";
import type { EtcdClient } from "./etcd-client.js";
import { IndexCost, indexPuts } from "./etcd-index.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { cmp, rangeOf } from "./etcd-ops.js";
import type { StoreStatus } from "./store-status.js";

/**
 * Writes the indexes of the records above meta/indexed: right after this replica commits them
 * when they did not fit the commit's own transaction (see EtcdCommitter), and, for commits
 * another replica left unindexed (it died first), once they have waited the index lag.
 */
export class EtcdIndexer {
  private indexing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lagSince = 0;

  constructor(
    private readonly client: () => EtcdClient,
    private readonly layout: EtcdLayout,
    private readonly log: AppliedLog,
    private readonly status: StoreStatus,
    private readonly maxOps: number,
  ) {}

  start(lagMs: number): void {
    this.timer = setInterval(() => this.indexIfLagging(lagMs), Math.max(50, lagMs / 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private indexIfLagging(lagMs: number): void {
    if (!this.status.open || this.log.indexedRev >= this.log.committedRev) {
      this.lagSince = 0;
      return;
    }
    const now = Date.now();
    if (this.lagSince === 0) this.lagSince = now;
    else if (now - this.lagSince >= lagMs) void this.index().catch(() => undefined);
  }

  /** Writes the indexes of the records above meta/indexed, a transaction at a time. */
  index(): Promise<void> {
    if (this.indexing) return this.indexing;
    if (!this.status.open || this.log.tail.length === 0) return Promise.resolve();
    this.indexing = (async () => {
      try {
        const L = this.layout;
        while (this.status.open && this.log.tail.length > 0) {
          // As many records as fit one transaction with their entries, h/<key> and meta/indexed.
          const cost = new IndexCost();
          let n = 0;
          for (; n < this.log.tail.length; n++) {
            cost.add([this.log.tail[n]!.record]);
            if (n > 0 && cost.ops > this.maxOps) break;
          }
          const chunk = this.log.tail.slice(0, n);
          const from = this.log.indexedRev;
          const to = chunk[chunk.length - 1]!.record.revision;
          const ops = indexPuts(L, chunk);
          const res = await this.client().txn({ compare: [cmp(L.indexed, Target.VALUE, u64(from))], success: ops, failure: [{ request: { $case: "requestRange", value: rangeOf(L.indexed) } }] });
          if (res.succeeded) this.log.markIndexed(to);
          else {
            const r = res.responses[0]?.response;
            const kv = r?.$case === "responseRange" ? r.value.kvs[0] : undefined;
            if (!kv) break;
            const other = readU64(kv.value);
            // Another replica indexes concurrently; when it is behind us, its next try sees ours.
            if (other <= from) break;
            this.log.markIndexed(other);
          }
        }
      } catch {
        // etcd did not answer: the records stay above meta/indexed, answered from memory, and
        // the lag timer tries again.
      } finally {
        this.indexing = undefined;
      }
    })();
    return this.indexing;
  }
}
