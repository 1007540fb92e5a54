import * as grpc from "@grpc/grpc-js";
import * as cs from "../gen/ctm/v1/config_service.js";
import * as rs from "../gen/ctm/v1/rollout_service.js";

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall;
type Msg<T> = { fromPartial(o: cs.DeepPartial<T>): T };

/** The public gRPC API as promises; requests are built with fromPartial, so omitted fields take proto defaults. */
export function ctmClient(address: string, timeoutMs: number) {
  const c = new cs.ConfigServiceClient(address, grpc.credentials.createInsecure());
  const r = new rs.RolloutServiceClient(address, grpc.credentials.createInsecure());
  const unary =
    <Req, Res>(fn: Unary<Req, Res>, type: Msg<Req>) =>
    (req: cs.DeepPartial<Req>): Promise<Res> =>
      new Promise((resolve, reject) => {
        fn(type.fromPartial(req), new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, res) => (e ? reject(e) : resolve(res)));
      });
  return {
    address,
    set: unary(c.set.bind(c), cs.SetRequest),
    get: unary(c.get.bind(c), cs.GetRequest),
    delete: unary(c.delete.bind(c), cs.DeleteRequest),
    history: unary(c.history.bind(c), cs.HistoryRequest),
    diff: unary(c.diff.bind(c), cs.DiffRequest),
    blame: unary(c.blame.bind(c), cs.BlameRequest),
    rollback: unary(c.rollback.bind(c), cs.RollbackRequest),
    getAt: unary(c.getAt.bind(c), cs.GetAtRequest),
    snapshot: unary(c.snapshot.bind(c), cs.SnapshotRequest),
    apply: unary(c.apply.bind(c), cs.ApplyRequest),
    status: unary(r.status.bind(r), rs.StatusRequest),
    pause: unary(r.pause.bind(r), rs.PauseRequest),
    resume: unary(r.resume.bind(r), rs.ResumeRequest),
    promote: unary(r.promote.bind(r), rs.PromoteRequest),
    abort: unary(r.abort.bind(r), rs.AbortRequest),
    kill: unary(r.kill.bind(r), rs.KillRequest),
    explain: unary(r.explain.bind(r), rs.ExplainRequest),
    /** A Watch stream (no deadline: it runs until cancelled). */
    watch: (req: cs.DeepPartial<cs.WatchRequest>): grpc.ClientReadableStream<cs.WatchResponse> => c.watch(cs.WatchRequest.fromPartial(req)),
    close(): void {
      c.close();
      r.close();
    },
  };
}

export type CtmClient = ReturnType<typeof ctmClient>;
