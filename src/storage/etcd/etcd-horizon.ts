import { cbor } from "../level/codec.js";

/**
 * meta/horizon: where the etcd store's history begins. Compaction writes it before it removes or
 * strips anything (so every replica refuses reads below it from then on), and again, with
 * `digest`, in the transaction that commits its report. Without `digest` a compaction to this
 * horizon has not finished: records it meant to remove may still lie below it, and the next
 * compaction, which reads the log from revision 1, removes them (see compactEtcd).
 */
export interface EtcdHorizon {
  /** The oldest revision served. */
  readonly revision: number;
  /** Unix ms of the record at `revision`. */
  readonly time: number;
  /** The hash the record at `revision` names as its predecessor (that record may be gone). */
  readonly prevHash: Buffer;
  /** BelowDigest of the log below `revision` as the finished compaction left it. */
  readonly digest?: Buffer;
}

/** The horizon of a store that was never compacted. */
export const NO_HORIZON: EtcdHorizon = { revision: 1, time: 0, prevHash: Buffer.alloc(32) };

export const encodeHorizon = (h: EtcdHorizon): Buffer =>
  cbor.encode({ revision: h.revision, time: h.time, prevHash: h.prevHash, ...(h.digest ? { digest: h.digest } : {}) });

export function decodeHorizon(bytes: Uint8Array | undefined): EtcdHorizon {
  if (bytes === undefined || bytes.length === 0) return NO_HORIZON;
  const v = cbor.decode(bytes) as { revision: unknown; time: unknown; prevHash: unknown; digest?: unknown };
  if (typeof v.revision !== "number" || typeof v.time !== "number" || !(v.prevHash instanceof Uint8Array)) throw new Error("meta/horizon is not a compaction horizon");
  return { revision: v.revision, time: v.time, prevHash: Buffer.from(v.prevHash), ...(v.digest instanceof Uint8Array ? { digest: Buffer.from(v.digest) } : {}) };
}
