#!/usr/bin/env node
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pino, type Logger } from "pino";
import { systemClock } from "./domain/clock.js";
import { LIMITS } from "./domain/limits.js";
import { parseConfig, type DaemonConfig } from "./config.js";
import { HealthLoop } from "./health/health-loop.js";
import { RolloutScheduler } from "./scheduler/rollout-scheduler.js";
import { ACCESS_LOG_DEFAULTS, AccessLog } from "./service/access-log.js";
import { ConfigService } from "./service/config-service.js";
import { HealthService } from "./service/health-service.js";
import { Metrics } from "./service/metrics.js";
import { RolloutService } from "./service/rollout-service.js";
import { ValidatorService } from "./service/validator-service.js";
import { directorySize } from "./storage/level/directory-size.js";
import { ThreadedAccessLogStore } from "./storage/level/threaded-access-log-store.js";
import { LevelLogStore } from "./storage/level/level-log-store.js";
import { GrpcTransport } from "./transport/grpc/grpc-server.js";
import { MetricsServer } from "./transport/http/metrics-server.js";
import { WatchHub } from "./watch/watch-hub.js";
import { LOG_SHIPPER_DEFAULTS, LogShipper } from "./transport/log/log-shipper.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const RPC_BINDINGS = { component: "grpc" };

function makeLogger(cfg: DaemonConfig): { log: Logger; shipper?: LogShipper } {
  if (cfg.logFormat === "pretty") {
    return { log: pino({ level: cfg.logLevel, transport: { target: "pino-pretty", options: { destination: 1 } } }) };
  }
  // One JSON line per RPC: a worker thread formats and writes them (see LogShipper).
  const shipper = new LogShipper({ ...LOG_SHIPPER_DEFAULTS, rpcBindings: RPC_BINDINGS });
  return { log: pino({ level: cfg.logLevel }, shipper), shipper };
}

/** The composition root: config -> storage -> watch -> service -> loops and transport. */
async function main(): Promise<void> {
  const cfg = parseConfig(process.argv, version);
  const { log, shipper } = makeLogger(cfg);
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const clock = systemClock;
  const metrics = new Metrics();

  const t0 = performance.now();
  const store = new LevelLogStore(dataDir, clock);
  await store.open();
  const accessStore = new ThreadedAccessLogStore(join(dataDir, "access-log"));
  await accessStore.open();

  const hub = new WatchHub(store);
  const access = new AccessLog(
    accessStore,
    clock,
    {
      ...ACCESS_LOG_DEFAULTS,
      queueLimit: cfg.accessLogQueue,
      maxAgeMs: cfg.accessLogMaxAgeMs,
      maxBytes: cfg.accessLogMaxBytes,
      retentionIntervalMs: cfg.accessLogRetentionIntervalMs,
    },
    metrics,
  );
  const validators = new ValidatorService(store, clock, metrics);
  const health = new HealthService(store, clock, metrics);
  const config = new ConfigService(store, hub, clock, [validators, health], cfg.accessLog ? access : undefined);
  validators.attach(config);
  health.attach(config);
  const rollouts = new RolloutService(store, clock);
  const scheduler = new RolloutScheduler(rollouts, log.child({ component: "scheduler" }), cfg.schedulerIntervalMs);
  const healthLoop = new HealthLoop(health, log.child({ component: "health" }), cfg.healthIntervalMs);

  metrics.observe("ctm_active_rollouts", "Keys rolling out now", () => rollouts.activeRollouts);
  metrics.observe("ctm_access_log_queue_depth", "Access records waiting to be written", () => access.depth);
  metrics.observe("ctm_leveldb_size_bytes", "Bytes on disk under the data directory", () => directorySize(dataDir));
  metrics.observe("ctm_head_revision", "The store's head revision", () => store.headRevision);
  metrics.observe("ctm_store_healthy", "1 while the store accepts writes", () => (store.healthy ? 1 : 0));
  store.onCommit((records) => {
    for (const r of records) metrics.sets.inc({ kind: r.kind });
  });

  const transport = new GrpcTransport({ config, rollouts, validators, health, access }, { log: log.child(RPC_BINDINGS), metrics, lines: shipper }, {
    watch: { progressIntervalMs: cfg.watchProgressMs },
    maxReceiveBytes: LIMITS.valueBytes * 4 + 1024 * 1024,
  });
  const address = await transport.listen(cfg.listen);
  const metricsServer = cfg.metricsListen === "off" ? undefined : new MetricsServer(metrics.registry);
  const metricsAddress = metricsServer ? await metricsServer.listen(cfg.metricsListen) : "off";
  transport.setServing(true);
  access.start();
  scheduler.start();
  healthLoop.start();
  // The health service follows the store: a failed batch means NOT_SERVING.
  const healthTimer = setInterval(() => transport.setServing(store.healthy), 1000);
  healthTimer.unref();
  log.info(
    {
      address,
      metrics: metricsAddress,
      dataDir,
      revision: store.headRevision,
      keys: store.latestUnder("").length,
      openMs: Math.round(performance.now() - t0),
      version,
    },
    "listening",
  );
  log.flush();

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining");
    log.flush();
    clearInterval(healthTimer);
    transport.setServing(false);
    await Promise.all([scheduler.close(), healthLoop.close()]);
    hub.close();
    await transport.shutdown(cfg.shutdownGraceMs);
    await metricsServer?.close();
    rollouts.close();
    validators.close();
    health.close();
    await access.close();
    await store.close();
    log.info({ revision: store.headRevision, ...store.stats, accessLogDropped: access.droppedTotal }, "stopped");
    if (shipper) await shipper.close();
    else log.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`ctmd: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
