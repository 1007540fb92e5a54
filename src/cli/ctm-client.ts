import * as grpc from "@grpc/grpc-js";
import * as cs from "../gen/ctm/v1/config_service.js";
import * as als from "../gen/ctm/v1/access_log_service.js";
import * as ads from "../gen/ctm/v1/admin_service.js";
import * as aus from "../gen/ctm/v1/auth_service.js";
import * as crs from "../gen/ctm/v1/change_request_service.js";
import * as hs from "../gen/ctm/v1/health_check_service.js";
import * as rs from "../gen/ctm/v1/rollout_service.js";
import * as vs from "../gen/ctm/v1/validator_service.js";
import { grpcTarget } from "@ctm/core/grpc-target";
import { RECEIVE_WINDOW } from "@ctm/core/receive-window";
import { retryDelay } from "./retry-rule.js";

type Unary<Req, Res> = ((req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall) & { path?: string };
type Msg<T> = { fromPartial(o: cs.DeepPartial<T>): T };

/** The public gRPC API as promises; requests are built with fromPartial, so omitted fields take proto defaults. */
export function ctmClient(address: string, timeoutMs: number, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), token?: string, breakGlass?: string) {
  // Several addresses (the replicas of a store) are balanced round-robin: calls fail over.
  const { target, options: targetOptions } = grpcTarget(address);
  const options = { ...RECEIVE_WINDOW, ...targetOptions };
  const c = new cs.ConfigServiceClient(target, credentials, options);
  const shared = { ...options, channelOverride: c.getChannel() };
  const r = new rs.RolloutServiceClient(target, credentials, shared);
  const v = new vs.ValidatorServiceClient(target, credentials, shared);
  const h = new hs.HealthCheckServiceClient(target, credentials, shared);
  const l = new als.AccessLogServiceClient(target, credentials, shared);
  const a = new ads.AdminServiceClient(target, credentials, shared);
  const u = new aus.AuthServiceClient(target, credentials, shared);
  const q = new crs.ChangeRequestServiceClient(target, credentials, shared);
  // The token goes in each call's metadata: grpc-js sends call credentials over TLS only.
  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (token) md.set("authorization", `Bearer ${token}`);
    // Writes past a protection policy, for callers with the break_glass right; the record says so.
    if (breakGlass) md.set("ctm-break-glass", breakGlass);
    return md;
  };
  // Each call has one deadline for all its attempts; it is retried after UNAVAILABLE only where
  // that cannot apply it twice (retry-rule.ts).
  const unary =
    <Req, Res>(fn: Unary<Req, Res>, type: Msg<Req>, path: string) =>
    async (req: cs.DeepPartial<Req>): Promise<Res> => {
      const request = type.fromPartial(req);
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await new Promise<Res>((resolve, reject) => {
            fn(request, metadata(), { deadline }, (e, res) => (e ? reject(e) : resolve(res)));
          });
        } catch (e) {
          const delay = retryDelay(path, request, (e as grpc.ServiceError).code, attempt);
          if (delay === undefined || Date.now() + delay >= deadline) throw e;
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    };
  return {
    address,
    set: unary(c.set.bind(c), cs.SetRequest, cs.ConfigServiceService.set.path),
    get: unary(c.get.bind(c), cs.GetRequest, cs.ConfigServiceService.get.path),
    delete: unary(c.delete.bind(c), cs.DeleteRequest, cs.ConfigServiceService.delete.path),
    history: unary(c.history.bind(c), cs.HistoryRequest, cs.ConfigServiceService.history.path),
    diff: unary(c.diff.bind(c), cs.DiffRequest, cs.ConfigServiceService.diff.path),
    blame: unary(c.blame.bind(c), cs.BlameRequest, cs.ConfigServiceService.blame.path),
    rollback: unary(c.rollback.bind(c), cs.RollbackRequest, cs.ConfigServiceService.rollback.path),
    getAt: unary(c.getAt.bind(c), cs.GetAtRequest, cs.ConfigServiceService.getAt.path),
    snapshot: unary(c.snapshot.bind(c), cs.SnapshotRequest, cs.ConfigServiceService.snapshot.path),
    apply: unary(c.apply.bind(c), cs.ApplyRequest, cs.ConfigServiceService.apply.path),
    listKeys: unary(c.listKeys.bind(c), cs.ListKeysRequest, cs.ConfigServiceService.listKeys.path),
    listChanges: unary(c.listChanges.bind(c), cs.ListChangesRequest, cs.ConfigServiceService.listChanges.path),
    status: unary(r.status.bind(r), rs.StatusRequest, rs.RolloutServiceService.status.path),
    pause: unary(r.pause.bind(r), rs.PauseRequest, rs.RolloutServiceService.pause.path),
    resume: unary(r.resume.bind(r), rs.ResumeRequest, rs.RolloutServiceService.resume.path),
    promote: unary(r.promote.bind(r), rs.PromoteRequest, rs.RolloutServiceService.promote.path),
    abort: unary(r.abort.bind(r), rs.AbortRequest, rs.RolloutServiceService.abort.path),
    kill: unary(r.kill.bind(r), rs.KillRequest, rs.RolloutServiceService.kill.path),
    explain: unary(r.explain.bind(r), rs.ExplainRequest, rs.RolloutServiceService.explain.path),
    setValidator: unary(v.setValidator.bind(v), vs.SetValidatorRequest, vs.ValidatorServiceService.setValidator.path),
    deleteValidator: unary(v.deleteValidator.bind(v), vs.DeleteValidatorRequest, vs.ValidatorServiceService.deleteValidator.path),
    listValidators: unary(v.listValidators.bind(v), vs.ListValidatorsRequest, vs.ValidatorServiceService.listValidators.path),
    validate: unary(v.validate.bind(v), vs.ValidateRequest, vs.ValidatorServiceService.validate.path),
    setHealthCheck: unary(h.setHealthCheck.bind(h), hs.SetHealthCheckRequest, hs.HealthCheckServiceService.setHealthCheck.path),
    deleteHealthCheck: unary(h.deleteHealthCheck.bind(h), hs.DeleteHealthCheckRequest, hs.HealthCheckServiceService.deleteHealthCheck.path),
    listHealthChecks: unary(h.listHealthChecks.bind(h), hs.ListHealthChecksRequest, hs.HealthCheckServiceService.listHealthChecks.path),
    reportMetrics: unary(h.reportMetrics.bind(h), hs.ReportMetricsRequest, hs.HealthCheckServiceService.reportMetrics.path),
    queryAccessLog: unary(l.queryAccessLog.bind(l), als.QueryAccessLogRequest, als.AccessLogServiceService.queryAccessLog.path),
    verify: unary(a.verify.bind(a), ads.VerifyRequest, ads.AdminServiceService.verify.path),
    getVerification: unary(a.getVerification.bind(a), ads.GetVerificationRequest, ads.AdminServiceService.getVerification.path),
    compact: unary(a.compact.bind(a), ads.CompactRequest, ads.AdminServiceService.compact.path),
    getRetention: unary(a.getRetention.bind(a), ads.GetRetentionRequest, ads.AdminServiceService.getRetention.path),
    listStaleKeys: unary(a.listStaleKeys.bind(a), ads.ListStaleKeysRequest, ads.AdminServiceService.listStaleKeys.path),
    createToken: unary(u.createToken.bind(u), aus.CreateTokenRequest, aus.AuthServiceService.createToken.path),
    listTokens: unary(u.listTokens.bind(u), aus.ListTokensRequest, aus.AuthServiceService.listTokens.path),
    revokeToken: unary(u.revokeToken.bind(u), aus.RevokeTokenRequest, aus.AuthServiceService.revokeToken.path),
    setRole: unary(u.setRole.bind(u), aus.SetRoleRequest, aus.AuthServiceService.setRole.path),
    deleteRole: unary(u.deleteRole.bind(u), aus.DeleteRoleRequest, aus.AuthServiceService.deleteRole.path),
    listRoles: unary(u.listRoles.bind(u), aus.ListRolesRequest, aus.AuthServiceService.listRoles.path),
    whoAmI: unary(u.whoAmI.bind(u), aus.WhoAmIRequest, aus.AuthServiceService.whoAmI.path),
    createChangeRequest: unary(q.createChangeRequest.bind(q), crs.CreateChangeRequestRequest, crs.ChangeRequestServiceService.createChangeRequest.path),
    submitChangeRequest: unary(q.submitChangeRequest.bind(q), crs.SubmitChangeRequestRequest, crs.ChangeRequestServiceService.submitChangeRequest.path),
    getChangeRequest: unary(q.getChangeRequest.bind(q), crs.GetChangeRequestRequest, crs.ChangeRequestServiceService.getChangeRequest.path),
    listChangeRequests: unary(q.listChangeRequests.bind(q), crs.ListChangeRequestsRequest, crs.ChangeRequestServiceService.listChangeRequests.path),
    editChangeRequest: unary(q.editChangeRequest.bind(q), crs.EditChangeRequestRequest, crs.ChangeRequestServiceService.editChangeRequest.path),
    approveChangeRequest: unary(q.approveChangeRequest.bind(q), crs.ApproveChangeRequestRequest, crs.ChangeRequestServiceService.approveChangeRequest.path),
    rejectChangeRequest: unary(q.rejectChangeRequest.bind(q), crs.RejectChangeRequestRequest, crs.ChangeRequestServiceService.rejectChangeRequest.path),
    cancelChangeRequest: unary(q.cancelChangeRequest.bind(q), crs.CancelChangeRequestRequest, crs.ChangeRequestServiceService.cancelChangeRequest.path),
    applyChangeRequest: unary(q.applyChangeRequest.bind(q), crs.ApplyChangeRequestRequest, crs.ChangeRequestServiceService.applyChangeRequest.path),
    /** A Watch stream (no deadline: it runs until cancelled). */
    watch: (req: cs.DeepPartial<cs.WatchRequest>): grpc.ClientReadableStream<cs.WatchResponse> => c.watch(cs.WatchRequest.fromPartial(req), metadata()),
    close(): void {
      for (const x of [c, r, v, h, l, a, u, q]) x.close();
    },
  };
}

export type CtmClient = ReturnType<typeof ctmClient>;
