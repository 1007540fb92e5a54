import { unavailable } from "../../domain/errors.js";
import { Compare_CompareTarget as Target, type Compare, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";
import { u64 } from "../level/codec.js";
import type { AppliedLog } from "./applied-log.js";
import type { EtcdClient } from "./etcd-client.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { cmp } from "./etcd-ops.js";
import type { TxnLimits } from "./txn-limits.js";

/** The lease, in seconds, on the claim of a commit written in several transactions. */
const STAGE_TTL_S = 10;
const EMPTY = Buffer.alloc(0);

/** What commitStaged writes with. */
export interface StagedSite {
  readonly client: EtcdClient;
  readonly layout: EtcdLayout;
  readonly limits: TxnLimits;
  readonly log: AppliedLog;
}

/**
 * One commit in several transactions, as atomic as one: it claims meta/intent on a lease (no
 * other commit lands while it is held, since every commit compares it), writes its records in
 * transactions that each check the claim is still its own, then moves meta/head and drops the
 * claim in one last transaction. Until then no reader trusts a record above meta/head; if this
 * replica dies, the lease expires and the next commit overwrites what it left.
 *
 * `ops` are the records' puts, then meta/head's.
 */
export async function commitStaged(site: StagedSite, ops: RequestOp[], onHead: Compare, fencing: Compare[]): Promise<{ succeeded: boolean; header?: { revision: bigint } }> {
  const { client, layout: L } = site;
  const headOp = ops[ops.length - 1]!;
  const records = ops.slice(0, -1);
  let lost = false;
  const lease = await client.lease(STAGE_TTL_S, () => (lost = true));
  try {
    const claim = await client.txn({
      compare: [onHead, cmp(L.intent, Target.VERSION, 0n), ...fencing],
      success: [{ request: { $case: "requestPut", value: { key: L.intent, value: u64(site.log.committedRev), lease: lease.id, prevKv: false } } }],
    });
    if (!claim.succeeded) return { succeeded: false };
    const mine = cmp(L.intent, Target.MOD, claim.header!.revision);
    const { maxOps, maxBytes } = site.limits;
    const send = async (chunk: RequestOp[]): Promise<void> => {
      const r = await client.txn({ compare: [mine], success: chunk });
      if (!r.succeeded || lost) throw unavailable("a large commit lost its claim on the etcd store (its lease expired) and was not applied");
    };
    let chunk: RequestOp[] = [];
    let bytes = 0;
    for (const op of records) {
      const size = op.request?.$case === "requestPut" ? op.request.value.key.length + op.request.value.value.length : 0;
      if (chunk.length > 0 && (chunk.length >= maxOps || bytes + size > maxBytes)) {
        await send(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(op);
      bytes += size;
    }
    if (chunk.length > 0) await send(chunk);
    const done = await client.txn({ compare: [mine, onHead, ...fencing], success: [headOp, { request: { $case: "requestDeleteRange", value: { key: L.intent, rangeEnd: EMPTY, prevKv: false } } }] });
    if (!done.succeeded) throw unavailable("a large commit lost its claim on the etcd store before it was applied");
    return done as { succeeded: boolean; header: { revision: bigint } };
  } finally {
    await lease.release();
  }
}
