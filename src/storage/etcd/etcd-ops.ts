import { Compare_CompareResult as Result, Compare_CompareTarget as Target, type Compare, type RequestOp } from "../../gen/etcd/etcdserverpb/rpc.js";

/** The operations and comparisons the etcd store's transactions are made of. */

const EMPTY = Buffer.alloc(0);

export const put = (key: Buffer, value: Buffer): RequestOp => ({ request: { $case: "requestPut", value: { key, value, lease: 0n, prevKv: false } } });

export const del = (key: Buffer): RequestOp => ({ request: { $case: "requestDeleteRange", value: { key, rangeEnd: EMPTY, prevKv: false } } });

export const rangeOf = (key: Buffer) => ({ key, rangeEnd: EMPTY, limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false });

export const readOp = (key: Buffer): RequestOp => ({ request: { $case: "requestRange", value: rangeOf(key) } });

export function cmp(key: Buffer, target: Target, value: bigint | Buffer): Compare {
  const targetUnion =
    target === Target.VALUE
      ? { $case: "value" as const, value: value as Buffer }
      : target === Target.MOD
        ? { $case: "modRevision" as const, value: value as bigint }
        : { $case: "version" as const, value: value as bigint };
  return { result: Result.EQUAL, target, key, targetUnion, rangeEnd: EMPTY };
}

export const cmpCreate = (key: Buffer, createRevision: bigint): Compare => ({ result: Result.EQUAL, target: Target.CREATE, key, targetUnion: { $case: "createRevision" as const, value: createRevision }, rangeEnd: EMPTY });

/** Bytes of keys and values an operation sends: what etcd's request size limit counts. */
export function opBytes(op: RequestOp): number {
  const r = op.request;
  if (r?.$case === "requestPut") return r.value.key.length + r.value.value.length;
  if (r?.$case === "requestDeleteRange") return r.value.key.length;
  return 0;
}
