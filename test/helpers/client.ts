import * as grpc from "@grpc/grpc-js";
import * as pb from "../../src/gen/ctm/v1/config_service.js";
import * as rpb from "../../src/gen/ctm/v1/rollout_service.js";
import { ConfigServiceClient } from "../../src/gen/ctm/v1/config_service.js";

export type Client = InstanceType<typeof ConfigServiceClient>;

/** Plaintext unless `credentials` says otherwise (grpc.credentials.createSsl for TLS). */
export const connect = (address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()): Client =>
  new ConfigServiceClient(address, credentials);

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall;

/** Promisified unary call: `await call(client.set.bind(client), {...})`. */
export function call<Req, Res>(fn: Unary<Req, Res>, req: Req, md = new grpc.Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, md, { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

/** Resolves the gRPC error of a call that must fail. */
export async function rejects(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}

type Msg<T> = { fromPartial(o: object): T };
/** Metadata for a call: with `token`, the bearer token as grpcurl's `-H 'authorization: Bearer ...'` sends it. */
export function tokenMetadata(token?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  return md;
}

const partial =
  <Req, Res>(fn: Unary<Req, Res>, type: Msg<Req>, token?: string) =>
  (r: Partial<Req>): Promise<Res> =>
    call(fn, type.fromPartial(r as object), tokenMetadata(token));

/** A thin typed facade over the generated client for tests; omitted fields take proto defaults. */
export function api(c: Client, token?: string) {
  return {
    set: partial(c.set.bind(c), pb.SetRequest, token),
    get: partial(c.get.bind(c), pb.GetRequest, token),
    delete: partial(c.delete.bind(c), pb.DeleteRequest, token),
    history: partial(c.history.bind(c), pb.HistoryRequest, token),
    diff: partial(c.diff.bind(c), pb.DiffRequest, token),
    blame: partial(c.blame.bind(c), pb.BlameRequest, token),
    rollback: partial(c.rollback.bind(c), pb.RollbackRequest, token),
    getAt: partial(c.getAt.bind(c), pb.GetAtRequest, token),
    snapshot: partial(c.snapshot.bind(c), pb.SnapshotRequest, token),
    apply: partial(c.apply.bind(c), pb.ApplyRequest, token),
    rollbackPrefix: partial(c.rollbackPrefix.bind(c), pb.RollbackPrefixRequest, token),
    listKeys: partial(c.listKeys.bind(c), pb.ListKeysRequest, token),
    listChanges: partial(c.listChanges.bind(c), pb.ListChangesRequest, token),
  };
}

/** The store's head revision, read from a response header (any key will do). */
export async function headRevision(c: Client): Promise<number> {
  const r = await call(c.snapshot.bind(c), { prefix: "", at: undefined, pageSize: 1, pageToken: "", consistent: false });
  return r.header!.revision;
}

export type RolloutClient = InstanceType<typeof rpb.RolloutServiceClient>;

/** The RolloutService facade, same conventions as `api`. */
export function rolloutApi(address: string, token?: string) {
  const c: RolloutClient = new rpb.RolloutServiceClient(address, grpc.credentials.createInsecure());
  return {
    client: c,
    status: partial(c.status.bind(c), rpb.StatusRequest, token),
    pause: partial(c.pause.bind(c), rpb.PauseRequest, token),
    resume: partial(c.resume.bind(c), rpb.ResumeRequest, token),
    promote: partial(c.promote.bind(c), rpb.PromoteRequest, token),
    abort: partial(c.abort.bind(c), rpb.AbortRequest, token),
    kill: partial(c.kill.bind(c), rpb.KillRequest, token),
    explain: partial(c.explain.bind(c), rpb.ExplainRequest, token),
  };
}
