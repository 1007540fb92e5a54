import * as grpc from "@grpc/grpc-js";
import * as cs from "../gen/ctm/v1/config_service.js";
import * as als from "../gen/ctm/v1/access_log_service.js";
import * as ads from "../gen/ctm/v1/admin_service.js";
import * as aus from "../gen/ctm/v1/auth_service.js";
import * as hs from "../gen/ctm/v1/health_check_service.js";
import * as rs from "../gen/ctm/v1/rollout_service.js";
import * as vs from "../gen/ctm/v1/validator_service.js";

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall;
type Msg<T> = { fromPartial(o: cs.DeepPartial<T>): T };

/** The public gRPC API as promises; requests are built with fromPartial, so omitted fields take proto defaults. */
export function ctmClient(address: string, timeoutMs: number, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), token?: string) {
  const c = new cs.ConfigServiceClient(address, credentials);
  const r = new rs.RolloutServiceClient(address, credentials);
  const v = new vs.ValidatorServiceClient(address, credentials);
  const h = new hs.HealthCheckServiceClient(address, credentials);
  const l = new als.AccessLogServiceClient(address, credentials);
  const a = new ads.AdminServiceClient(address, credentials);
  const u = new aus.AuthServiceClient(address, credentials);
  // The token goes in each call's metadata: grpc-js sends call credentials over TLS only.
  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (token) md.set("authorization", `Bearer ${token}`);
    return md;
  };
  const unary =
    <Req, Res>(fn: Unary<Req, Res>, type: Msg<Req>) =>
    (req: cs.DeepPartial<Req>): Promise<Res> =>
      new Promise((resolve, reject) => {
        fn(type.fromPartial(req), metadata(), { deadline: Date.now() + timeoutMs }, (e, res) => (e ? reject(e) : resolve(res)));
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
    setValidator: unary(v.setValidator.bind(v), vs.SetValidatorRequest),
    deleteValidator: unary(v.deleteValidator.bind(v), vs.DeleteValidatorRequest),
    listValidators: unary(v.listValidators.bind(v), vs.ListValidatorsRequest),
    validate: unary(v.validate.bind(v), vs.ValidateRequest),
    setHealthCheck: unary(h.setHealthCheck.bind(h), hs.SetHealthCheckRequest),
    deleteHealthCheck: unary(h.deleteHealthCheck.bind(h), hs.DeleteHealthCheckRequest),
    listHealthChecks: unary(h.listHealthChecks.bind(h), hs.ListHealthChecksRequest),
    reportMetrics: unary(h.reportMetrics.bind(h), hs.ReportMetricsRequest),
    queryAccessLog: unary(l.queryAccessLog.bind(l), als.QueryAccessLogRequest),
    verify: unary(a.verify.bind(a), ads.VerifyRequest),
    getVerification: unary(a.getVerification.bind(a), ads.GetVerificationRequest),
    compact: unary(a.compact.bind(a), ads.CompactRequest),
    getRetention: unary(a.getRetention.bind(a), ads.GetRetentionRequest),
    listStaleKeys: unary(a.listStaleKeys.bind(a), ads.ListStaleKeysRequest),
    createToken: unary(u.createToken.bind(u), aus.CreateTokenRequest),
    listTokens: unary(u.listTokens.bind(u), aus.ListTokensRequest),
    revokeToken: unary(u.revokeToken.bind(u), aus.RevokeTokenRequest),
    setRole: unary(u.setRole.bind(u), aus.SetRoleRequest),
    deleteRole: unary(u.deleteRole.bind(u), aus.DeleteRoleRequest),
    listRoles: unary(u.listRoles.bind(u), aus.ListRolesRequest),
    whoAmI: unary(u.whoAmI.bind(u), aus.WhoAmIRequest),
    /** A Watch stream (no deadline: it runs until cancelled). */
    watch: (req: cs.DeepPartial<cs.WatchRequest>): grpc.ClientReadableStream<cs.WatchResponse> => c.watch(cs.WatchRequest.fromPartial(req), metadata()),
    close(): void {
      for (const x of [c, r, v, h, l, a, u]) x.close();
    },
  };
}

export type CtmClient = ReturnType<typeof ctmClient>;
