import { outOfRange } from "../../domain/errors.js";
import type { RangeRequest, RangeResponse, RequestOp, ResponseOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import type { EtcdClient } from "./etcd-client.js";
import { decodeHorizon, NO_HORIZON, type EtcdHorizon } from "./etcd-horizon.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { rangeOf, readOp } from "./etcd-ops.js";

/**
 * The compaction horizon as one replica knows it: the oldest revision it serves. It only rises,
 * from whatever shows meta/horizon first: the watch, a catch-up, or a read that met it in etcd.
 */
export class ServedHorizon {
  private h: EtcdHorizon = NO_HORIZON;
  /** meta/horizon as the watch has shown it, in etcd's order: a log put below it is a strip. */
  private watched = 1;

  constructor(
    private readonly client: () => EtcdClient,
    private readonly layout: EtcdLayout,
  ) {}

  get current(): EtcdHorizon {
    return this.h;
  }

  get followed(): number {
    return this.watched;
  }

  raise(h: EtcdHorizon): void {
    if (h.revision > this.h.revision) this.h = h;
  }

  /** meta/horizon as the watch (or the snapshot it starts after) shows it. */
  follow(bytes: Uint8Array | undefined): void {
    const h = decodeHorizon(bytes);
    this.watched = Math.max(this.watched, h.revision);
    this.raise(h);
  }

  /**
   * Before and after a read at `revision`: below the horizon it is refused, rather than answered
   * short by a compaction that took records the read needed.
   */
  check(revision: number): void {
    const h = this.h.revision;
    if (h > 1 && revision < h) throw outOfRange("revision", `revision ${revision} is below the compaction horizon; the oldest revision served is ${h}`, { oldest: h });
  }

  /**
   * Reads, and meta/horizon in the same etcd snapshot. A compaction publishes its horizon before
   * it removes anything, so a read that met a removal also meets the horizon that refuses it,
   * even before this replica's watch brings it.
   */
  async read(ops: RequestOp[]): Promise<ResponseOp[]> {
    const res = await this.client().readTxn({ success: [...ops, readOp(this.layout.horizon)] });
    const h = res.responses[ops.length]?.response;
    const kv = h?.$case === "responseRange" ? h.value.kvs[0] : undefined;
    if (kv) this.raise(decodeHorizon(kv.value));
    return res.responses.slice(0, ops.length);
  }

  /** One Range, read as `read` does. */
  async range(req: Partial<RangeRequest> & { key: Buffer }): Promise<RangeResponse> {
    const [op] = await this.read([{ request: { $case: "requestRange", value: { ...rangeOf(req.key), ...req } } }]);
    return op!.response?.$case === "responseRange" ? op!.response.value : { kvs: [], more: false, count: 0n };
  }
}
