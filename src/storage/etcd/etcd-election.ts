import type { EtcdClient } from "./etcd-client.js";
import { Compare_CompareResult as Result, Compare_CompareTarget as Target } from "../../gen/etcd/etcdserverpb/rpc.js";

/** The leadership a fenced transaction compares: the leader key as this replica created it. */
export interface Fence {
  readonly key: Buffer;
  readonly createRevision: bigint;
}

export interface ElectionEvents {
  elected(): void;
  deposed(reason: string): void;
}

/**
 * One leader among the replicas of a store: the replica that creates the leader key, on a
 * lease it keeps alive. When the lease ends (the leader died, paused, or lost etcd for longer
 * than the TTL), etcd deletes the key and the others race to create it again. Being the leader
 * is never trusted alone: every leader-only write compares the key's create revision in its own
 * transaction (the fence), so an old leader that has not noticed yet writes nothing.
 */
export class EtcdElection {
  private current: Fence | undefined;
  private closed = false;
  private release: (() => Promise<void>) | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: EtcdClient,
    private readonly key: Buffer,
    private readonly id: string,
    private readonly ttlSeconds: number,
    private readonly events: ElectionEvents,
  ) {}

  /** The fence while this replica leads. */
  get fence(): Fence | undefined {
    return this.current;
  }

  start(): void {
    void this.campaign();
  }

  /** Resigns: the lease is revoked, so another replica takes over at once. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.depose("closed");
    await this.release?.();
  }

  private depose(reason: string): void {
    if (!this.current) return;
    this.current = undefined;
    this.events.deposed(reason);
  }

  private async campaign(): Promise<void> {
    const pollMs = Math.max(100, (this.ttlSeconds * 1000) / 5);
    while (!this.closed) {
      try {
        let lost = false;
        const lease = await this.client.lease(this.ttlSeconds, () => {
          lost = true;
          this.depose("its etcd lease ended");
          this.wake?.();
        });
        this.release = lease.release;
        while (!this.closed && !lost) {
          const res = await this.client.txn({
            compare: [{ result: Result.EQUAL, target: Target.CREATE, key: this.key, targetUnion: { $case: "createRevision", value: 0n }, rangeEnd: Buffer.alloc(0) }],
            success: [{ request: { $case: "requestPut", value: { key: this.key, value: Buffer.from(this.id), lease: lease.id, prevKv: false } } }],
          });
          if (res.succeeded && !lost && !this.closed) {
            this.current = { key: this.key, createRevision: res.header!.revision };
            this.events.elected();
          }
          // Leading: wait until the lease ends. Following: look again for a vacancy.
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            if (!this.current) setTimeout(resolve, pollMs).unref();
          });
        }
        await lease.release();
      } catch {
        this.depose("etcd did not answer");
        await new Promise((r) => setTimeout(r, pollMs).unref());
      }
    }
  }
}

/** Whether the leadership `fence` names still holds in etcd. */
export async function stillLeads(client: EtcdClient, fence: Fence): Promise<boolean> {
  const r = await client.range({ key: fence.key });
  return r.kvs[0]?.createRevision === fence.createRevision;
}
