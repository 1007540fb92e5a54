#!/usr/bin/env node
import { daemonTransportOptions } from "./transport/grpc/daemon-transport-options.js";
import { FILES_KEPT, MIN_AUTO_CONNECTIONS } from "./open-files.js";
import { FlapDetector } from "./service/flap-detector.js";
import { StaleKeys } from "./service/stale-keys.js";
import { DeleteGuard } from "./service/delete-guard.js";
import { ReadStats } from "./service/read-stats.js";
import { CompactionLoop } from "./scheduler/compaction-loop.js";
import { RetentionService } from "./service/retention-service.js";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { systemClock } from "./domain/clock.js";
import { parseConfig, type DaemonConfig } from "./config.js";
import { describeStartupError } from "./startup-error.js";
import { isStoreCommand, runStoreCommand } from "./store-commands.js";
import { HealthLoop } from "./health/health-loop.js";
import { RolloutScheduler } from "./scheduler/rollout-scheduler.js";
import { ACCESS_LOG_DEFAULTS, AccessLog } from "./service/access-log.js";
import { ConfigService } from "./service/config-service.js";
import { HealthService } from "./service/health-service.js";
import { Metrics } from "./service/metrics.js";
import { RolloutService } from "./service/rollout-service.js";
import { ValidatorService } from "./service/validator-service.js";
import { PolicyService } from "./service/policy-service.js";
import { ProtectedStore } from "./service/protected-store.js";
import { ChangeRequestService } from "./service/change-request-service.js";
import { directorySize } from "./storage/level/directory-size.js";
import { ThreadedAccessLogStore } from "./storage/level/threaded-access-log-store.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "./storage/level/level-log-store.js";
import { EtcdLogStore } from "./storage/etcd/etcd-log-store.js";
import { hostname } from "node:os";
import { etcdStoreOptions } from "./storage/etcd/etcd-store-options.js";
import { exportEventLoopDelay } from "./service/event-loop-monitor.js";
import { IntegrityService } from "./service/integrity-service.js";
import { StaleViews } from "./service/stale-views.js";
import { AuthService, BOOTSTRAP_TOKEN_FILE } from "./service/auth-service.js";
import { FailurePenalty, PENALTY_DEFAULTS } from "./transport/grpc/failure-penalty.js";
import { peerPrincipal } from "./transport/tls/peer-principal.js";
import { ctmServices, GrpcTransport } from "./transport/grpc/grpc-server.js";
import { ListingService } from "./service/listing-service.js";
import { MetricsServer } from "./transport/http/metrics-server.js";
import { httpFace } from "./transport/http/http-routes.js";
import { serverTls } from "./transport/tls/server-tls.js";
import { WatchHub } from "./watch/watch-hub.js";
import { HTTP_BINDINGS, makeLogger, RPC_BINDINGS } from "./make-logger.js";
import { WorkerPool } from "./workers/worker-pool.js";
import { replicaId } from "./replica-id.js";
import { workerScript } from "./worker-script.js";
import { InternalCalls } from "./transport/grpc/internal-calls.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** With auth on, /metrics needs a valid token too: it passes the same authentication. */
function metricsRefusal(auth: AuthService): (authorization: string | undefined) => string | undefined {
  return (authorization) => {
    try {
      auth.authenticate(authorization, undefined);
      return undefined;
    } catch (e) {
      if (e instanceof Error) return e.message;
      throw e;
    }
  };
}

/** The composition root: config -> storage -> watch -> service -> loops and transport. */
async function main(): Promise<void> {
  if (isStoreCommand(process.argv)) {
    process.exitCode = await runStoreCommand(process.argv);
    return;
  }
  const cfg = parseConfig(process.argv, version);
  const { log, requestLog, shipper, closeLog } = makeLogger(cfg);
  // Unusable TLS files refuse the start before the store opens; undefined without --tls-cert.
  const tls = serverTls(cfg, log.child({ component: "tls" }));
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const clock = systemClock;
  const metrics = new Metrics();

  const t0 = performance.now();
  // On etcd, compaction runs on the leader and archives what leaves into the leader's own directory.
  const archiveDir = resolve(cfg.archiveDir ?? join(dataDir, "archive"));
  const store = cfg.etcd ? new EtcdLogStore(clock, { ...etcdStoreOptions(cfg.etcd), archiveDir }) : new LevelLogStore(dataDir, clock, { ...LEVEL_STORE_DEFAULTS, verifyOnOpen: cfg.verifyOnStart, archiveDir });
  await store.open();
  if (store instanceof LevelLogStore && store.resumedCompaction) {
    const o = store.resumedCompaction;
    log.warn({ horizon: o.horizon, previousHorizon: o.previousHorizon, removed: o.removed, stripped: o.stripped, archive: o.archive?.file }, "finished a compaction that a stop cut short");
  }
  if (store instanceof LevelLogStore && store.undoneWrite) {
    const u = store.undoneWrite;
    log.warn({ from: u.from, to: u.to, records: u.removed }, "took out the parts of a large batch that a stop left unfinished: none of it had been acknowledged");
  }
  if (store instanceof LevelLogStore) {
    // On a large store it is built after start-up; until then, reads of the past use the key index on disk.
    void store.revisionIndexBuilt.then(() => {
      if (store.revisionIndexKeys !== undefined) log.info({ keys: store.revisionIndexKeys, durationMs: Math.round(performance.now() - t0) }, "revision index ready");
    });
  }
  const views = new StaleViews(log.child({ component: "views" }), metrics);
  store.onListenerError = views.listenerFailed;
  const integrity = new IntegrityService(store, log.child({ component: "integrity" }), cfg.verifyIntervalMs);
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
  const policies = new PolicyService(
    store,
    metrics,
    (f, m) => log.error({ component: "policies", ...f }, m),
    (f, m) => log.warn({ component: "policies", ...f }, m),
  );
  // Every service writes through the protection policies: no write path goes around them.
  const writes = new ProtectedStore(store, policies.pass);
  const validators = new ValidatorService(writes, clock, metrics, (f, m) => log.error({ component: "validators", ...f }, m));
  const health = new HealthService(writes, clock, metrics, (f, m) => log.error({ component: "health", ...f }, m));
  health.allowHosts = cfg.healthAllowHosts;
  const auth = new AuthService(writes, clock, metrics, (f, m) => log.error({ component: "auth", ...f }, m));
  const retention = new RetentionService(writes, clock, (f, m) => log.error({ component: "retention", ...f }, m));
  const config = new ConfigService(writes, hub, clock, [validators, health, auth, retention, policies], cfg.accessLog ? access : undefined);
  // Replicas on one etcd store each keep their own counts beside the shared log.
  const replica = cfg.etcd ? replicaId(dataDir) : undefined;
  auth.replica = replica;
  const reads = new ReadStats(store, clock, undefined, replica);
  void reads.load().catch((e: unknown) => log.warn({ err: e }, "the saved read counts could not be read; counting starts afresh"));
  config.reads = reads;
  if (cfg.deleteGuardMs > 0) config.deleteGuard = new DeleteGuard(reads, clock, cfg.deleteGuardMs);
  validators.attach(config);
  health.attach(config);
  auth.attach(config);
  const rollouts = new RolloutService(writes, clock);
  const changes = new ChangeRequestService(writes, config, policies, clock, cfg.auth ? (p) => auth.rolesOf(p) : undefined);
  const scheduler = new RolloutScheduler(rollouts, log.child({ component: "scheduler" }), cfg.schedulerIntervalMs, metrics, changes);

  const healthLoop = new HealthLoop(health, log.child({ component: "health" }), cfg.healthIntervalMs, metrics);
  const flaps = new FlapDetector(store, cfg.flappingChanges, cfg.flappingWindowMs, (k) =>
    log.warn({ component: "lifecycle", key: k.key, changes: k.changes, windowMs: cfg.flappingWindowMs, authors: k.authors }, "key is flapping: changed more often than --flapping-changes allows"),
  );
  metrics.observeLabeled("ctm_key_flapping", "1 for each key that clients changed more than --flapping-changes times within --flapping-window-ms", "key", () =>
    flaps.flapping(clock.now()).map((k) => [k.key, 1] as const),
  );
  const compactionLoop = new CompactionLoop(retention, log.child({ component: "retention" }), cfg.compactIntervalMs, metrics);

  metrics.observe("ctm_active_rollouts", "Keys rolling out now", () => rollouts.activeRollouts);
  metrics.observe("ctm_access_log_queue_depth", "Access records waiting to be written", () => access.depth);
  metrics.observe("ctm_leveldb_size_bytes", "Bytes on disk under the data directory", () => directorySize(dataDir));
  metrics.observe("ctm_head_revision", "The store's head revision", () => store.headRevision);
  // Records per synced batch is how well group commit groups: one fsync per batch.
  metrics.observeCounter("ctm_store_batches_total", "Synced batches written to the log (one fsync each)", () => store.stats.batches);
  metrics.observeCounter("ctm_store_records_total", "Records written to the log in synced batches", () => store.stats.records);
  metrics.observe("ctm_oldest_revision", "The oldest revision served: compaction raises it", () => store.firstRevision);
  metrics.observe("ctm_last_compaction_timestamp_seconds", "When the last compaction that changed anything finished; 0 before the first", () => (retention.last?.time ?? 0) / 1000);
  // Only the etcd store serves reads while it cannot write; the embedded store does both or neither.
  const writeOutage = (): string | undefined => (store instanceof EtcdLogStore ? store.writeOutage : undefined);
  metrics.observe("ctm_store_healthy", "1 while the store is open and has not failed", () => (store.healthy ? 1 : 0));
  metrics.observe("ctm_store_writable", "1 while the store can take writes (0 while an etcd cluster has no quorum, reads still served)", () => (store.healthy && writeOutage() === undefined ? 1 : 0));
  if (shipper) metrics.observeCounter("ctm_log_lines_dropped_total", "Log lines dropped because the log output was blocked", () => shipper.dropped);
  metrics.observe("ctm_verify_ok", "1 if the last check of the log's hash chain and indexes passed", () => (integrity.last?.ok ? 1 : 0));
  metrics.observe("ctm_verify_last_timestamp_seconds", "When the last check of the log finished", () => (integrity.last?.finishedAt ?? 0) / 1000);
  metrics.observe("ctm_verify_first_bad_revision", "The first bad revision the last check found; 0 when it passed", () => integrity.last?.firstBadRevision ?? 0);
  metrics.observe("ctm_verify_records_checked", "Records the last check of the log covered", () => integrity.last?.recordsChecked ?? 0);
  exportEventLoopDelay(metrics);
  store.onCommit((records) => {
    if (records.length === 0) return;
    // Counted in runs of one kind, then one inc a run: a batch may hold a whole prefix, mostly
    // of one kind, and a comparison a record costs less than a map's lookup and update.
    let kind = records[0]!.kind;
    let n = 0;
    for (const r of records) {
      if (r.kind === kind) n++;
      else {
        metrics.sets.inc({ kind }, n);
        kind = r.kind;
        n = 1;
      }
    }
    metrics.sets.inc({ kind }, n);
  });

  // A store that failed a check, a write or a read is never served: every call gets its refusal.
  const gate = () => store.refusal;
  const firstToken = cfg.auth ? await auth.bootstrap() : undefined;
  await auth.loadUsage();
  if (firstToken) {
    // Only its owner may read it: the secret never reaches the log, stdout or the command line.
    const tokenFile = join(dataDir, BOOTSTRAP_TOKEN_FILE);
    rmSync(tokenFile, { force: true });
    writeFileSync(tokenFile, `${firstToken}\n`, { mode: 0o600, flag: "wx" });
    log.warn({ file: tokenFile }, "auth is on and no token existed: the first admin token is in this file (mode 0600); read it, then delete the file");
  }
  const callAuth = cfg.auth ? { service: auth, context: { rollouts, changes }, penalty: new FailurePenalty({ ...PENALTY_DEFAULTS, maxDelayMs: cfg.authFailureDelayMaxMs }), certificateOf: tls ? peerPrincipal : undefined } : undefined;
  const rpc = { log: log.child(RPC_BINDINGS), metrics, lines: shipper, gate, auth: callAuth };
  const transportOpts = daemonTransportOptions(cfg, log, metrics);
  const services = ctmServices({ config, rollouts, validators, health, access, integrity, auth, retention, changes, listing: new ListingService(store, config, reads), lifecycle: new StaleKeys(store, reads, clock) }, rpc, transportOpts);
  const transport = new GrpcTransport(services, rpc, transportOpts);
  let pool: WorkerPool | undefined;
  let address: string;
  if (cfg.workers > 0) {
    // The workers serve the public port and run the call chain; the calls they do not serve
    // come here over their IPC channel (InternalCalls), so this process listens nowhere.
    const entry = workerScript("worker-main", new URL("./workers/", import.meta.url).href);
    pool = new WorkerPool({ count: cfg.workers, entry: { file: fileURLToPath(entry.url), execArgv: entry.execArgv }, args: process.argv.slice(2), calls: new InternalCalls(services), store, access, reads, auth, registry: metrics.registry, log, maxLagBytes: cfg.workerMaxLagMiB * 2 ** 20 });
    address = await pool.start();
  } else {
    address = await transport.listen(cfg.listen, tls?.grpcCredentials);
  }
  const scrape = pool ? { contentType: metrics.registry.contentType, metrics: () => pool.metrics() } : metrics.registry;
  const metricsServer = cfg.metricsListen === "off" ? undefined : new MetricsServer(scrape, { tls, refuse: cfg.auth ? metricsRefusal(auth) : undefined, connections: transportOpts.connections });
  const metricsAddress = metricsServer ? await metricsServer.listen(cfg.metricsListen) : "off";
  const http = cfg.httpListen === "off" ? undefined : httpFace({ services, config, log: requestLog.child(HTTP_BINDINGS), lines: shipper, metrics, auth: callAuth, gate, tls, cfg, maxBodyBytes: transportOpts.maxReceiveBytes, requestBudget: transportOpts.requestBudget, connections: transportOpts.connections });
  const httpAddress = http ? await http.listen(cfg.httpListen) : "off";
  const serving = (on: boolean, writes = on): void => {
    transport.setServing(on, writes);
    pool?.setServing(on);
  };
  serving(true);
  access.start();
  const loops = [scheduler, healthLoop, compactionLoop];
  if (store instanceof EtcdLogStore) {
    // Replicas share the log: one of them, elected through etcd, runs the loops.
    const id = `${hostname()}:${process.pid}:${address}`;
    store.campaign(id, cfg.etcd!.leaseTtlSeconds, {
      elected: () => {
        log.info({ id }, "elected to lead the replicas: the scheduler, the health loop and compaction run here");
        for (const l of loops) l.start();
      },
      deposed: (reason) => {
        log.warn({ id, reason }, "no longer leads the replicas: the loops stop here");
        for (const l of loops) void l.close();
      },
    });
  } else {
    for (const l of loops) l.start();
  }
  reads.start();
  integrity.start();
  // The health service follows the store (a failed batch or check) and the views commit listeners keep.
  // Writes have their own name: an etcd store keeps serving reads while its cluster has no quorum.
  const healthTimer = setInterval(() => {
    const on = store.healthy && !views.stale;
    serving(on, on && writeOutage() === undefined);
  }, 1000);
  healthTimer.unref();

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining");
    log.flush();
    clearInterval(healthTimer);
    serving(false);
    await Promise.all([scheduler.close(), healthLoop.close(), compactionLoop.close()]);
    // Workers drain first: their calls may still be forwarded here.
    await pool?.stop();
    hub.close();
    await transport.shutdown(cfg.shutdownGraceMs);
    await metricsServer?.close();
    await http?.close();
    rollouts.close();
    integrity.close();
    validators.close();
    policies.close();
    health.close();
    retention.close();
    flaps.close();
    await auth.close();
    await access.close();
    await reads.close();
    await store.close();
    log.info({ revision: store.headRevision, ...store.stats, accessLogDropped: access.droppedTotal }, "stopped");
    await closeLog();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // New handshakes get the files' certificate; open connections and streams keep going.
  if (tls) {
    process.on("SIGHUP", () => {
      tls.reload();
      pool?.reloadTls();
    });
  }
  // Announced only once SIGTERM drains: a supervisor may signal as soon as it reads this line.
  log.info(
    {
      address,
      metrics: metricsAddress,
      http: httpAddress,
      dataDir,
      revision: store.headRevision,
      keys: store.keyCount,
      verified: store.lastVerification && { scope: store.lastVerification.scope, records: store.lastVerification.recordsChecked, ms: store.lastVerification.durationMs },
      openMs: Math.round(performance.now() - t0),
      version,
      maxConnections: cfg.maxConnections,
      ...(pool ? { workers: pool.pids } : {}),
    },
    "listening",
  );
  if (cfg.openFiles !== undefined && cfg.openFiles - FILES_KEPT < MIN_AUTO_CONNECTIONS) {
    log.warn({ openFiles: cfg.openFiles, maxConnections: cfg.maxConnections }, `the limit on open files leaves the store too few of them beside ${cfg.maxConnections} connections: raise it (ulimit -n, systemd's LimitNOFILE) to at least ${FILES_KEPT + 1024}`);
  }
  log.flush();
}

main().catch((e: unknown) => {
  const failure = describeStartupError(e);
  // Exit once stderr has taken the line: a piped stderr is written asynchronously.
  process.stderr.write(failure.text, () => process.exit(failure.exitCode));
});
