import { daemonTransportOptions } from "../transport/grpc/daemon-transport-options.js";
import { readFileSync } from "node:fs";
import { systemClock } from "../domain/clock.js";
import { parseConfig } from "../config.js";
import { makeLogger, RPC_BINDINGS } from "../make-logger.js";
import { describeStartupError } from "../startup-error.js";
import { AuthService } from "../service/auth-service.js";
import { ConfigService } from "../service/config-service.js";
import { Metrics } from "../service/metrics.js";
import { changeRequestKeys } from "../service/change-request-service.js";
import { RolloutService } from "../service/rollout-service.js";
import { FollowerStore } from "../storage/follower-store.js";
import { FailurePenalty, PENALTY_DEFAULTS } from "../transport/grpc/failure-penalty.js";
import { Forwarder, ReadYourWrites } from "../transport/grpc/forwarder.js";
import { GrpcTransport, workerServices } from "../transport/grpc/grpc-server.js";
import { peerPrincipal } from "../transport/tls/peer-principal.js";
import { serverTls } from "../transport/tls/server-tls.js";
import { WatchHub } from "../watch/watch-hub.js";
import { PrimaryLink } from "./primary-link.js";

const version = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** How often a worker hands the tokens' last uses to the primary, which keeps them. */
const USAGE_SEND_MS = 10_000;

/** A read worker's composition root: it follows the primary and serves the shared port. */
async function main(): Promise<void> {
  const cfg = parseConfig(process.argv, version);
  const { log, shipper, closeLog } = makeLogger(cfg);
  const tls = serverTls(cfg, log.child({ component: "tls" }));
  const clock = systemClock;
  const metrics = new Metrics();
  let transport: GrpcTransport | undefined;
  let hub: WatchHub | undefined;
  let auth: AuthService | undefined;
  let stopping = false;
  // What the primary last said about serving; it says so before this worker listens.
  let serving = false;
  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    hub?.close();
    await transport?.shutdown(cfg.shutdownGraceMs);
    link.flushAccess();
    link.flushReads();
    const used = auth?.takeUsage();
    if (used) link.send({ t: "usage", used });
    await closeLog();
    process.exit(code);
  };
  const link = new PrimaryLink({
    serving: (s) => {
      serving = s;
      transport?.setServing(s && store.healthy);
    },
    // JSON's own round trip drops the functions prom-client leaves in it, which IPC cannot carry.
    metrics: async () => JSON.parse(JSON.stringify(await metrics.registry.getMetricsAsJSON())) as unknown,
    reloadTls: () => tls?.reload(),
    stop: () => void stop(),
  });
  const store = new FollowerStore(link);
  // A follower that missed a batch refuses every call; a new worker loads afresh, so this one ends.
  store.onLost = (e) => {
    log.error({ err: e }, "this read worker lost its place in the commit stream; exiting so that another one starts");
    void stop(1);
  };
  await link.follow(store);

  hub = new WatchHub(store);
  auth = new AuthService(store, clock, metrics, (f, m) => log.error({ component: "auth", ...f }, m));
  const rollouts = new RolloutService(store, clock);
  const config = new ConfigService(store, hub, clock, [], cfg.accessLog ? link : undefined);
  config.reads = link;
  const callAuth = cfg.auth
    ? { service: auth, context: { rollouts, changes: { keysOf: changeRequestKeys(store) } }, penalty: new FailurePenalty({ ...PENALTY_DEFAULTS, maxDelayMs: cfg.authFailureDelayMaxMs }), certificateOf: tls ? peerPrincipal : undefined }
    : undefined;
  const rpc = { log: log.child(RPC_BINDINGS), metrics, lines: shipper, gate: () => store.refusal, auth: callAuth };
  const ryw = new ReadYourWrites(store);
  const forwarder = new Forwarder((call) => link.call(call), ryw);
  const opts = daemonTransportOptions(cfg, log, metrics);
  transport = new GrpcTransport(workerServices(config, rpc, opts, forwarder, ryw), rpc, opts);
  const address = await transport.listen(cfg.listen, tls?.grpcCredentials);
  setInterval(() => {
    const used = auth?.takeUsage();
    if (used) link.send({ t: "usage", used });
  }, USAGE_SEND_MS).unref();
  // The primary decides when its workers stop (a terminal's ^C reaches the whole group).
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => {});
  transport.setServing(serving && store.healthy);
  link.send({ t: "listening", address });
}

main().catch((e: unknown) => {
  const failure = describeStartupError(e);
  process.stderr.write(failure.text, () => process.exit(failure.exitCode));
});
