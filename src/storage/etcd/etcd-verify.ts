import { BelowDigest } from "../below-digest.js";
import { readU64 } from "../level/codec.js";
import { decodeLogValue, GENESIS, recordHash } from "../level/record-bytes.js";
import { timeSlices } from "../time-slices.js";
import type { VerifyReport } from "../verify-report.js";
import type { EtcdClient } from "./etcd-client.js";
import { decodeHorizon } from "./etcd-horizon.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { readOp } from "./etcd-ops.js";
import { etcdPages } from "./etcd-pages.js";

/**
 * Checks the etcd store's log on one etcd snapshot: the hash chain from the compaction horizon
 * (from the predecessor hash compaction noted there) up to meta/head, which must name the last
 * record's hash; and below the horizon, where compaction left gaps and stripped records, that
 * what remains is what compaction left (its digest). A compaction that has not finished noted
 * no digest yet: the records below its horizon are not served, and the next compaction settles
 * them, so only the chain is checked then.
 */
export async function verifyEtcdLog(client: EtcdClient, L: EtcdLayout): Promise<VerifyReport> {
  const started = Date.now();
  const meta = await client.readTxn({ success: [readOp(L.head), readOp(L.horizon)] });
  const at = meta.header!.revision;
  const [headKv, horizonKv] = meta.responses.map((r) => (r.response?.$case === "responseRange" ? r.response.value.kvs[0] : undefined));
  const upTo = headKv ? readU64(headKv.value) : 0;
  const headHash = headKv ? Buffer.from(headKv.value.subarray(8, 40)) : GENESIS;
  const horizon = decodeHorizon(horizonKv?.value);
  const H = horizon.revision;
  const pause = timeSlices();
  let checked = 0;
  let bad: { rev: number; reason: string } | undefined;
  const below = H > 1 && horizon.digest !== undefined;
  if (below) {
    const digest = new BelowDigest(horizon.prevHash);
    for await (const kvs of etcdPages(client, L.log(1), L.log(H), { at })) {
      for (const kv of kvs) {
        digest.add(L.revOfLog(kv.key), kv.value);
        checked++;
        const turn = pause();
        if (turn) await turn;
      }
    }
    if (!digest.finish().equals(horizon.digest!)) bad = { rev: H, reason: `the records below the compaction horizon ${H} differ from those compaction left` };
  }
  let prev: Buffer = H > 1 ? horizon.prevHash : GENESIS;
  let expected = H;
  if (!bad) {
    outer: for await (const kvs of etcdPages(client, L.log(H), L.log(upTo + 1), { at })) {
      for (const kv of kvs) {
        const rev = L.revOfLog(kv.key);
        if (rev !== expected) {
          bad = { rev: expected, reason: `record ${expected} is missing` };
          break outer;
        }
        const stored = decodeLogValue(kv.value);
        if (stored.record.revision !== rev || !stored.prev || !Buffer.from(stored.prev).equals(prev)) {
          bad = { rev, reason: `record ${rev} does not follow the hash of the record before it` };
          break outer;
        }
        prev = recordHash(kv.value);
        checked++;
        expected++;
        const turn = pause();
        if (turn) await turn;
      }
    }
  }
  if (!bad && expected !== upTo + 1 && upTo >= H) bad = { rev: expected, reason: `record ${expected} is missing` };
  if (!bad && upTo >= H && !prev.equals(headHash)) bad = { rev: upTo, reason: `meta/head does not name the hash of record ${upTo}` };
  const finishedAt = Date.now();
  return {
    ok: !bad,
    scope: "full",
    from: below ? 1 : H,
    to: upTo,
    recordsChecked: checked,
    ...(bad ? { firstBadRevision: bad.rev, reason: bad.reason } : {}),
    headHash: prev.toString("hex"),
    finishedAt,
    durationMs: finishedAt - started,
  };
}
