import type { RecordKind as DomainKind } from "@ctm/core/record";
import type { ListChangesRequest, ListChangesResponse, ListKeysRequest, ListKeysResponse } from "../../gen/ctm/v1/config_service.js";
import type { RecordKind, ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { ListingService } from "../../service/listing-service.js";
import type * as grpc from "@grpc/grpc-js";
import { invalidArgument } from "../../domain/errors.js";
import { KINDS, toEntry } from "./entry-mapper.js";
import { unary, type Rpc } from "./rpc-logger.js";

/** More than every kind there is, twice over: a longer list is a mistake. */
const MAX_KINDS = 32;
const DOMAIN_KINDS = new Map(Object.entries(KINDS).map(([d, pb]) => [pb, d as DomainKind]));

const domainKind = (k: RecordKind, i: number): DomainKind => {
  const d = DOMAIN_KINDS.get(k);
  if (d === undefined) throw invalidArgument(`kinds[${i}]`, "is not a record kind");
  return d;
};

/** ConfigService's listings: the live keys with their reads, the newest changes across keys. */
export function listingHandlers(
  svc: ListingService,
  header: () => ResponseHeader,
  rpc: Rpc,
): { listKeys: grpc.handleUnaryCall<ListKeysRequest, ListKeysResponse>; listChanges: grpc.handleUnaryCall<ListChangesRequest, ListChangesResponse> } {
  return {
    listKeys: unary(rpc, "ListKeys", (r) => r.prefix, async (r) => {
      const { keys, nextPageToken } = await svc.listKeys(r.prefix, r.pageSize, r.pageToken);
      return {
        header: header(),
        keys: keys.map((k) => ({ entry: toEntry(k.record), rolling: k.rolling, reads: k.reads.reads, lastRead: k.reads.lastRead > 0 ? new Date(k.reads.lastRead) : undefined })),
        nextPageToken,
      };
    }),
    listChanges: unary(rpc, "ListChanges", (r) => r.prefix, async (r) => {
      if (r.kinds.length > MAX_KINDS) throw invalidArgument("kinds", `at most ${MAX_KINDS}`);
      const kinds = new Set(r.kinds.map(domainKind));
      const { records, nextPageToken } = await svc.listChanges({ prefix: r.prefix, author: r.author, kinds, limit: r.limit, pageToken: r.pageToken });
      return { header: header(), entries: records.map(toEntry), nextPageToken };
    }),
  };
}
