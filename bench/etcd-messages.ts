import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

// Hand-encoded etcdserverpb/mvccpb messages: only the fields the bench uses.
const utf8 = new TextEncoder();

/** etcdserverpb.RangeRequest { bytes key = 1; } */
export function etcdRangeRequest(key: string): Uint8Array {
  return new BinaryWriter().uint32((1 << 3) | 2).bytes(utf8.encode(key)).finish();
}

/** etcdserverpb.RangeRequest { bytes key = 1; bytes range_end = 2; int64 revision = 4; } */
export function etcdRangePrefixRequest(prefix: string, revision = 0): Uint8Array {
  const key = utf8.encode(prefix);
  const end = Uint8Array.from(key);
  end[end.length - 1]! += 1;
  const w = new BinaryWriter().uint32((1 << 3) | 2).bytes(key).uint32((2 << 3) | 2).bytes(end);
  if (revision > 0) w.uint32(4 << 3).int64(revision);
  return w.finish();
}

/** The revision in any etcd response's header (ResponseHeader header = 1 { int64 revision = 3; }). */
export function etcdHeaderRevision(bytes: Uint8Array): number {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const h = new BinaryReader(reader.bytes());
      while (h.pos < h.len) {
        const t = h.uint32();
        if (t >>> 3 === 3 && (t & 7) === 0) return Number(h.int64());
        h.skip(t & 7);
      }
    } else reader.skip(tag & 7);
  }
  return 0;
}

/** etcdserverpb.PutRequest { bytes key = 1; bytes value = 2; } */
export function etcdPutRequest(key: string | Uint8Array, value: string | Uint8Array): Uint8Array {
  const bytes = (x: string | Uint8Array): Uint8Array => (typeof x === "string" ? utf8.encode(x) : x);
  return new BinaryWriter().uint32((1 << 3) | 2).bytes(bytes(key)).uint32((2 << 3) | 2).bytes(bytes(value)).finish();
}

/** etcdserverpb.TxnRequest of puts (see etcdTxnRequest). */
export function etcdTxnPutsRequest(puts: readonly { key: string; value: string }[]): Uint8Array {
  return etcdTxnRequest(puts.map((p) => ({ put: { key: utf8.encode(p.key), value: utf8.encode(p.value) } })));
}

/** An operation of a Txn: a put, or a delete of one key. */
export type EtcdTxnOp = { put: { key: Uint8Array; value: Uint8Array } } | { del: Uint8Array };

/**
 * etcdserverpb.TxnRequest { repeated RequestOp success = 2 }: RequestOp { RequestPut request_put
 * = 2; RequestDeleteRange request_delete_range = 3 }, DeleteRangeRequest { bytes key = 1 }.
 */
export function etcdTxnRequest(ops: readonly EtcdTxnOp[]): Uint8Array {
  const w = new BinaryWriter();
  for (const op of ops) {
    const inner = new BinaryWriter();
    if ("put" in op) inner.uint32((2 << 3) | 2).bytes(etcdPutRequest(op.put.key, op.put.value));
    else inner.uint32((3 << 3) | 2).bytes(new BinaryWriter().uint32((1 << 3) | 2).bytes(op.del).finish());
    w.uint32((2 << 3) | 2).bytes(inner.finish());
  }
  return w.finish();
}

/** etcdserverpb.RangeRequest { bytes key = 1; int64 revision = 4; }: one key as it stood at a revision. */
export function etcdRangeAtRequest(key: string, revision: number): Uint8Array {
  return new BinaryWriter().uint32((1 << 3) | 2).bytes(utf8.encode(key)).uint32(4 << 3).int64(revision).finish();
}

/** etcdserverpb.WatchRequest { create_request = 1: WatchCreateRequest { bytes key = 1; } } */
export function etcdWatchCreateRequest(key: string): Uint8Array {
  const create = new BinaryWriter().uint32((1 << 3) | 2).bytes(utf8.encode(key)).finish();
  return new BinaryWriter().uint32((1 << 3) | 2).bytes(create).finish();
}

/** WatchRequest { create_request = 1: { key = 1, range_end = 2, int64 start_revision = 3 } } for every key under a prefix. */
export function etcdWatchPrefixRequest(prefix: string, startRevision: number): Uint8Array {
  const key = utf8.encode(prefix);
  const end = Uint8Array.from(key);
  end[end.length - 1]! += 1;
  const create = new BinaryWriter().uint32((1 << 3) | 2).bytes(key).uint32((2 << 3) | 2).bytes(end).uint32(3 << 3).int64(startRevision).finish();
  return new BinaryWriter().uint32((1 << 3) | 2).bytes(create).finish();
}

export interface EtcdKeyValue {
  key: Uint8Array;
  modRevision: number;
  version: number;
  value: Uint8Array;
}

/** etcdserverpb.RangeResponse { repeated mvccpb.KeyValue kvs = 2; int64 count = 4; } */
export function decodeEtcdRangeResponse(bytes: Uint8Array): { kvs: EtcdKeyValue[]; count: number } {
  const reader = new BinaryReader(bytes);
  const kvs: EtcdKeyValue[] = [];
  let count = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2 && (tag & 7) === 2) kvs.push(decodeKeyValue(reader.bytes()));
    else if (tag >>> 3 === 4 && (tag & 7) === 0) count = Number(reader.int64());
    else reader.skip(tag & 7);
  }
  return { kvs, count };
}

/** etcdserverpb.WatchResponse { int64 watch_id = 2; bool created = 3; bool canceled = 4; repeated mvccpb.Event events = 11; } */
export function decodeEtcdWatchResponse(bytes: Uint8Array): { created: boolean; canceled: boolean; events: EtcdKeyValue[] } {
  const reader = new BinaryReader(bytes);
  const out = { created: false, canceled: false, events: [] as EtcdKeyValue[] };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === 0) out.created = reader.bool();
    else if (field === 4 && (tag & 7) === 0) out.canceled = reader.bool();
    else if (field === 11 && (tag & 7) === 2) {
      // mvccpb.Event { EventType type = 1; KeyValue kv = 2; }
      const event = new BinaryReader(reader.bytes());
      while (event.pos < event.len) {
        const t = event.uint32();
        if (t >>> 3 === 2 && (t & 7) === 2) out.events.push(decodeKeyValue(event.bytes()));
        else event.skip(t & 7);
      }
    } else reader.skip(tag & 7);
  }
  return out;
}

/** mvccpb.KeyValue { bytes key = 1; int64 mod_revision = 3; int64 version = 4; bytes value = 5; } */
function decodeKeyValue(bytes: Uint8Array): EtcdKeyValue {
  const reader = new BinaryReader(bytes);
  const kv: EtcdKeyValue = { key: new Uint8Array(), modRevision: 0, version: 0, value: new Uint8Array() };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) kv.key = reader.bytes();
    else if (field === 3 && (tag & 7) === 0) kv.modRevision = Number(reader.int64());
    else if (field === 4 && (tag & 7) === 0) kv.version = Number(reader.int64());
    else if (field === 5 && (tag & 7) === 2) kv.value = reader.bytes();
    else reader.skip(tag & 7);
  }
  return kv;
}
