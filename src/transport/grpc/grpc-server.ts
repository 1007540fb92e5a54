import * as grpc from "@grpc/grpc-js";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { listenOn } from "../listen-on.js";
import type { ConnectionGuard } from "../connection-guard.js";
import { headerOf } from "./response-header.js";
import { retentionHandlers, type StaleKeySource } from "./retention-handlers.js";
import type { RetentionService } from "../../service/retention-service.js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { ConfigService } from "../../service/config-service.js";
import { ConfigServiceService, GetResponse, WatchResponse } from "../../gen/ctm/v1/config_service.js";
import { RolloutServiceService } from "../../gen/ctm/v1/rollout_service.js";
import type { RolloutService } from "../../service/rollout-service.js";
import { configHandlers, type GetWire } from "./config-handlers.js";
import { listingHandlers } from "./listing-handlers.js";
import type { ListingService } from "../../service/listing-service.js";
import { rolloutHandlers } from "./rollout-handlers.js";
import type { Rpc } from "./rpc-logger.js";
import { accessLogHandlers, healthCheckHandlers, validatorHandlers } from "./safety-handlers.js";
import { AccessLogServiceService } from "../../gen/ctm/v1/access_log_service.js";
import { HealthCheckServiceService } from "../../gen/ctm/v1/health_check_service.js";
import { ValidatorServiceService } from "../../gen/ctm/v1/validator_service.js";
import type { AccessLog } from "../../service/access-log.js";
import type { HealthService } from "../../service/health-service.js";
import type { ValidatorService } from "../../service/validator-service.js";
import { addReflection } from "./reflection.js";
import { ACCESS_RULES } from "./access-rules.js";
import { AdminServiceService } from "../../gen/ctm/v1/admin_service.js";
import type { IntegrityService } from "../../service/integrity-service.js";
import { adminHandlers } from "./admin-handlers.js";
import { ChangeRequestServiceService } from "../../gen/ctm/v1/change_request_service.js";
import { changeRequestHandlers } from "./change-request-handlers.js";
import type { ChangeRequestService } from "../../service/change-request-service.js";
import { AuthServiceService } from "../../gen/ctm/v1/auth_service.js";
import type { AuthService } from "../../service/auth-service.js";
import { authHandlers } from "./auth-handlers.js";
import { checkedService } from "./checked-service.js";
import { callChain } from "./call-chain.js";
import { ClientBudget } from "./client-budget.js";
import type { WatchOptions, WatchWire } from "./watch-handler.js";
import type { Forwarder, ReadYourWrites } from "./forwarder.js";

export interface GrpcTransportOptions {
  watch: WatchOptions;
  /** Largest request accepted; values have their own, smaller limit. */
  maxReceiveBytes: number;
  /** Each client's share of bytes of requests in calls being served, shared with the HTTP face (see callChain). */
  requestBudget: ClientBudget;
  /** Each client's share of connections, shared with the HTTP face; none: no limit. */
  connections?: ConnectionGuard;
  /** Calls one client address may have open at once (0: no limit), and how long a request may take to arrive (0: no limit). */
  calls?: { perClient: number; arrivalMs: number };
}

/** A method whose handler answers the response's bytes itself. */
const preEncoded = <M extends { responseSerialize: unknown }>(m: M) => ({ ...m, responseSerialize: (v: Buffer): Buffer => v });

// Get, Snapshot, Watch and the writes write pre-encoded bytes; everything else goes through ts-proto.
const configService = {
  ...ConfigServiceService,
  set: preEncoded(ConfigServiceService.set),
  delete: preEncoded(ConfigServiceService.delete),
  rollback: preEncoded(ConfigServiceService.rollback),
  apply: preEncoded(ConfigServiceService.apply),
  rollbackPrefix: preEncoded(ConfigServiceService.rollbackPrefix),
  get: {
    ...ConfigServiceService.get,
    responseSerialize: (v: GetWire): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(GetResponse.encode(v).finish())),
  },
  snapshot: preEncoded(ConfigServiceService.snapshot),
  watch: {
    ...ConfigServiceService.watch,
    responseSerialize: (v: WatchWire): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(WatchResponse.encode(v).finish())),
  },
};

const SERVICE_NAMES = [
  "",
  "ctm.v1.ConfigService",
  "ctm.v1.RolloutService",
  "ctm.v1.ValidatorService",
  "ctm.v1.HealthCheckService",
  "ctm.v1.AccessLogService",
  "ctm.v1.AdminService",
  "ctm.v1.AuthService",
];

/**
 * A grpc.health.v1 name for writes alone: NOT_SERVING while the store serves reads but cannot
 * take writes (an etcd cluster without its quorum), so a load balancer can send writes elsewhere.
 */
export const WRITES_SERVICE = "ctm.v1.Writes";

export interface Services {
  config: ConfigService;
  rollouts: RolloutService;
  validators: ValidatorService;
  health: HealthService;
  access: AccessLog;
  integrity: IntegrityService;
  auth: AuthService;
  retention: RetentionService;
  lifecycle: StaleKeySource;
  changes: ChangeRequestService;
  listing: ListingService;
}

/** One service as the server registers it. */
export interface ServiceEntry {
  definition: grpc.ServiceDefinition;
  handlers: object;
}

/** Every ctm.v1 service with the handlers that serve it from `svc`. */
export function ctmServices(svc: Services, rpc: Rpc, opts: GrpcTransportOptions): ServiceEntry[] {
  const header = () => headerOf(svc.config);
  return [
    { definition: configService, handlers: { ...configHandlers(svc.config, rpc, opts.watch), ...listingHandlers(svc.listing, header, rpc) } },
    { definition: RolloutServiceService, handlers: rolloutHandlers(svc.rollouts, svc.config, rpc) },
    { definition: ValidatorServiceService, handlers: validatorHandlers(svc.validators, header, rpc) },
    { definition: HealthCheckServiceService, handlers: healthCheckHandlers(svc.health, header, rpc) },
    { definition: AccessLogServiceService, handlers: accessLogHandlers(svc.access, header, rpc) },
    { definition: AdminServiceService, handlers: { ...adminHandlers(svc.integrity, header, rpc), ...retentionHandlers(svc.retention, svc.lifecycle, header, rpc) } },
    { definition: AuthServiceService, handlers: authHandlers(svc.auth, rpc.auth !== undefined, header, rpc) },
    { definition: ChangeRequestServiceService, handlers: changeRequestHandlers(svc.changes, header, rpc) },
  ];
}

/**
 * The services as a read worker serves them: Get and Watch from its follower (after the
 * connection's own writes, see ReadYourWrites), every other method forwarded to the primary.
 * A forwarded answer arrives encoded, so its serializer passes the bytes through.
 */
export function workerServices(config: ConfigService, rpc: Rpc, opts: GrpcTransportOptions, forwarder: Forwarder, ryw: ReadYourWrites): ServiceEntry[] {
  const local = configHandlers(config, rpc, opts.watch);
  const definitions = [configService, RolloutServiceService, ValidatorServiceService, HealthCheckServiceService, AccessLogServiceService, AdminServiceService, AuthServiceService, ChangeRequestServiceService];
  return definitions.map((definition: grpc.ServiceDefinition) => {
    const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const handlers: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
      if (m.path === configService.get.path) handlers[name] = ryw.unary(local.get);
      else if (m.path === configService.watch.path) handlers[name] = ryw.stream(local.watch as grpc.handleServerStreamingCall<unknown, unknown>);
      else {
        if (m.responseStream) throw new Error(`${m.path}: a worker forwards unary calls only`);
        handlers[name] = forwarder.unary(m);
        defs[name] = { ...m, responseSerialize: (b) => b as Buffer };
        continue;
      }
      defs[name] = m;
    }
    return { definition: defs as grpc.ServiceDefinition, handlers };
  });
}

/** The gRPC face of ctmd: the ctm.v1 services, grpc.health.v1 and server reflection. */
export class GrpcTransport {
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation(Object.fromEntries([...SERVICE_NAMES, WRITES_SERVICE].map((s) => [s, "NOT_SERVING"])));

  private readonly log: Logger;
  /** Open grpc.health.v1 Health/Watch streams: they never end by themselves, so shutdown ends them. */
  private readonly healthStreams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  /** What the health service was last told; it starts NOT_SERVING. */
  private serving = false;
  private writes = false;
  /** The ports this transport accepts connections on (see listen). */
  private readonly listeners: TcpServer[] = [];

  constructor(
    services: readonly ServiceEntry[],
    rpc: Rpc,
    private readonly opts: GrpcTransportOptions,
  ) {
    this.log = rpc.log;
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": opts.maxReceiveBytes,
      // Watch streams live long; keepalives find dead peers so their watchers are released.
      "grpc.keepalive_time_ms": 60_000,
      "grpc.keepalive_timeout_ms": 20_000,
      interceptors: [callChain(rpc, opts.requestBudget, { perClient: new ClientBudget(opts.calls?.perClient ?? 0), arrivalMs: opts.calls?.arrivalMs ?? 0 })],
    });
    // Every call passes callChain; every request's bytes are checked before its handler runs
    // (see checkedService).
    const add = (definition: grpc.ServiceDefinition, handlers: object, checks: Parameters<typeof checkedService>[2] = {}): void =>
      this.server.addService(...checkedService(definition, handlers as grpc.UntypedServiceImplementation, { ...checks, lazy: true }));
    for (const s of services) add(s.definition, s.handlers);
    const trackWatch = (watch: grpc.handleServerStreamingCall<unknown, unknown>) => (call: grpc.ServerWritableStream<unknown, unknown>) => {
      this.healthStreams.add(call);
      const forget = () => this.healthStreams.delete(call);
      call.on("cancelled", forget);
      call.on("finish", forget);
      watch(call);
    };
    this.health.addToServer({
      addService: (d: grpc.ServiceDefinition, h: { watch: grpc.handleServerStreamingCall<unknown, unknown> }) => add(d, { ...h, watch: trackWatch(h.watch) }, { foreign: true }),
    } as unknown as grpc.Server);
    // Reflection is a bidirectional stream the chain does not wrap: it is public, and only added
    // when the access rules say so.
    addReflection({
      addService: (d: grpc.ServiceDefinition, h: grpc.UntypedServiceImplementation) => {
        for (const m of Object.values(d)) if (ACCESS_RULES[m.path] !== "public") throw new Error(`${m.path} is not a public method in access-rules.ts`);
        this.server.addService(d, h);
      },
    } as grpc.Server);
  }

  /**
   * Plaintext unless `credentials` says otherwise (ServerTls's, for TLS). ctmd accepts the
   * connections itself and hands grpc-js those the connection guard admits.
   */
  async listen(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<string> {
    const injector = this.server.createConnectionInjector(credentials);
    const guard = this.opts.connections;
    const listener = createTcpServer({ noDelay: true }, (socket) => {
      if (guard && !guard.admit(socket, "grpc")) return;
      injector.injectConnection(socket);
    });
    this.listeners.push(listener);
    const bound = await listenOn(listener, address);
    // Once listening, an error is one accept that failed: it is said, and the port stays open.
    listener.on("error", (e: NodeJS.ErrnoException) => this.log.error({ err: e.message, code: e.code }, "cannot accept a connection"));
    return bound;
  }

  /**
   * grpc-health-check sends every setStatus to every Health/Watch stream, even an
   * unchanged one; callers may poll, so only a change reaches the watchers.
   */
  setServing(serving: boolean, writes = serving): void {
    if (serving !== this.serving) {
      this.serving = serving;
      for (const s of SERVICE_NAMES) this.health.setStatus(s, serving ? "SERVING" : "NOT_SERVING");
    }
    const w = serving && writes;
    if (w !== this.writes) {
      this.writes = w;
      this.health.setStatus(WRITES_SERVICE, w ? "SERVING" : "NOT_SERVING");
    }
  }

  /** Stops accepting calls and waits for running ones, up to `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    this.setServing(false);
    // Health watchers have just been told NOT_SERVING; their streams would hold the drain for the
    // whole grace period, so they end now, as the config Watch streams do when the hub closes.
    for (const call of this.healthStreams) call.emit("error", { code: grpc.status.UNAVAILABLE, details: "ctmd is shutting down" });
    this.healthStreams.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ graceMs }, "calls still running after the grace period; forcing shutdown");
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      for (const listener of this.listeners) listener.close();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
