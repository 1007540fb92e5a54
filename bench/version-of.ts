import * as grpc from "@grpc/grpc-js";
import { GetRequest, GetResponse } from "../src/gen/ctm/v1/config_service.js";
import type { RawClient } from "./raw-client.js";
import { paths } from "./settings.js";

/**
 * A key's version as ctmd answers it (0 if it was never written): every h2load Set writes the
 * same key, so its growth counts the Sets that were really applied. `consistent` makes a replica
 * of a store on etcd catch up with etcd first, wherever the writes were made.
 */
export async function versionOf(client: RawClient, key: string, consistent = false): Promise<number> {
  const reply = await client.unary(paths.get, GetRequest.encode({ key, consistent }).finish());
  if (reply.code === grpc.status.NOT_FOUND) return 0;
  if (reply.code !== grpc.status.OK || !reply.body) throw new Error(`Get ${key}: ${grpc.status[reply.code]} ${reply.details}`);
  return GetResponse.decode(reply.body).entry?.version ?? 0;
}
