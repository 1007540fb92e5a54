import { availableParallelism } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import type { EtcdFlags } from "./storage/etcd/etcd-store-options.js";
import { isLoopbackListen, listenAddress, metricsListenAddress } from "./listen-address.js";
import { autoMaxConnections, FILES_KEPT, MIN_AUTO_CONNECTIONS, openFilesLimit } from "./open-files.js";

export interface DaemonConfig {
  listen: string;
  dataDir: string;
  logLevel: string;
  logFormat: "json" | "pretty";
  watchProgressMs: number;
  /** Watch streams one client (its principal and address) may hold open at once, per process; 0: no limit. */
  watchStreamsPerClient: number;
  /** MiB of requests one client may have in calls being served at once, per process; 0: no limit. */
  requestBudgetMiB: number;
  /** Connections one client address may hold open on the gRPC, HTTP and metrics ports, per process; 0: no limit. */
  connectionsPerClient: number;
  /** Connections the process holds open on the gRPC and HTTP ports together (not the metrics port); 0: no limit. */
  maxConnections: number;
  /** The limit on open files `maxConnections` was worked out from ("auto"), when known. */
  openFiles?: number;
  /** A gRPC connection that sends nothing for this long after it opens is closed; 0: never. */
  silentConnectionMs: number;
  /** gRPC calls one client address may have open at once, per process; 0: no limit. */
  callsPerClient: number;
  /** A gRPC call's request must arrive whole within this of its start; 0: no limit. */
  requestArrivalMs: number;
  shutdownGraceMs: number;
  schedulerIntervalMs: number;
  healthIntervalMs: number;
  metricsListen: string;
  /** OFREP, the console and its API ("off": none). */
  httpListen: string;
  /** HTTP requests per second per client (token, else address); 0: unlimited. */
  httpRateLimit: number;
  /** Origins whose pages may call the HTTP face (CORS); "*" for any. */
  httpAllowOrigins: string[];
  accessLogMaxAgeMs: number;
  accessLogMaxBytes: number;
  accessLogQueue: number;
  accessLogRetentionIntervalMs: number;
  accessLog: boolean;
  verifyOnStart: "auto" | "tail" | "full";
  verifyIntervalMs: number;
  /** Deletes of keys read within this are refused unless forced; 0: off. */
  deleteGuardMs: number;
  /** A key changed more than this many times within flappingWindowMs is flapping (metric and warning). */
  flappingChanges: number;
  flappingWindowMs: number;
  /** How often the retention policies are applied in the background; 0: only by Compact. */
  compactIntervalMs: number;
  /** Where compaction writes its archives; `<data dir>/archive` when unset. */
  archiveDir?: string;
  /** TLS on the gRPC and /metrics ports when both are set (PEM files, reloaded on SIGHUP). */
  tlsCert?: string;
  tlsKey?: string;
  /** Client certificates must be signed by this CA (mTLS). */
  tlsClientCa?: string;
  tlsClientAuth: "require" | "optional";
  /** Bearer tokens and roles on every call (off: every call is allowed, and only loopback is served). */
  auth: boolean;
  /** The longest a peer that keeps failing authentication waits for each refusal (0: never slowed). */
  authFailureDelayMaxMs: number;
  /** Serve a non-loopback address with auth off. */
  insecure: boolean;
  /** Hosts HTTP and Prometheus health-check sources may fetch. */
  healthAllowHosts: string[];
  /** Read worker processes serving Get and Watch on the shared port (0: the daemon serves alone). */
  workers: number;
  /** Commits (MiB, encoded) a read worker may fall behind by before it is restarted. */
  workerMaxLagMiB: number;
  /** Where the log lives: the embedded LevelDB under dataDir, or an etcd cluster shared by replicas. */
  store: "level" | "etcd";
  etcd?: EtcdFlags;
}


export const DEFAULT_LISTEN = "127.0.0.1:7411";
export const DEFAULT_DATA_DIR = "./ctm-data";

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
};

const autoOrCount = (v: string): number | "auto" => {
  const n = Number(v);
  if (v !== "auto" && (!Number.isSafeInteger(n) || n < 0)) throw new InvalidArgumentError('must be "auto" or a non-negative integer');
  return v === "auto" ? v : n;
};

const nonNegativeInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
};

/** `https://app.example.com,http://localhost:3000`: origins as browsers send them, or "*". */
const originList = (v: string): string[] => {
  const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const o of list) {
    if (o === "*") continue;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new InvalidArgumentError(`"${o}" is not an origin such as https://app.example.com`);
    }
    if (u.origin !== o) throw new InvalidArgumentError(`"${o}" is not an origin: write it as ${u.origin === "null" ? "scheme://host[:port]" : u.origin}`);
  }
  return list;
};

/** Read workers beyond this gain nothing on any machine ctmd targets, and each holds every key. */
const MAX_WORKERS = 64;

const workerCount = (v: string): number => {
  if (v === "auto") return Math.min(availableParallelism(), MAX_WORKERS);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_WORKERS) throw new InvalidArgumentError(`must be "auto" or a whole number from 0 to ${MAX_WORKERS}`);
  return n;
};

const hostList = (v: string): string[] => {
  const hosts = v.split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "");
  if (hosts.length === 0) throw new InvalidArgumentError("must name at least one host");
  return hosts;
};

/** Flags win over environment variables, which win over defaults. */
export function parseConfig(argv: string[], version: string): DaemonConfig {
  const program = new Command("ctmd")
    .description("ctm, the config time machine: versioned configuration and feature flags over gRPC")
    .version(version)
    // A usage error is thrown (exit 2, as the CLI), not exited on: the caller decides the status.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "ctmd: ")) })
    .addOption(new Option("--listen <host:port>", "gRPC address to listen on").env("CTM_LISTEN").argParser(listenAddress).default(DEFAULT_LISTEN))
    .addOption(new Option("--data-dir <dir>", "LevelDB data directory (created if missing)").env("CTM_DATA_DIR").default(DEFAULT_DATA_DIR))
    .addOption(
      new Option("--log-level <level>", "pino log level")
        .env("CTM_LOG_LEVEL")
        .choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
        .default("info"),
    )
    .addOption(new Option("--log-format <format>", "log format").env("CTM_LOG_FORMAT").choices(["json", "pretty"]).default("json"))
    .addOption(
      new Option("--watch-progress-ms <ms>", "progress heartbeat interval of idle Watch streams")
        .env("CTM_WATCH_PROGRESS_MS")
        .argParser(positiveInt)
        .default(10_000),
    )
    .addOption(
      new Option("--watch-streams-per-client <n>", "Watch streams one client (its principal and address) may hold open; more are refused RESOURCE_EXHAUSTED (0: no limit)")
        .env("CTM_WATCH_STREAMS_PER_CLIENT")
        .argParser(nonNegativeInt)
        .default(256),
    )
    .addOption(
      new Option("--request-budget-mib <MiB>", "MiB of requests one client (its principal and address) may have in calls being served at once; past it a call is refused RESOURCE_EXHAUSTED (0: no limit)")
        .env("CTM_REQUEST_BUDGET_MIB")
        .argParser(nonNegativeInt)
        .default(32),
    )
    .addOption(
      new Option("--connections-per-client <n>", "connections one client address may hold open on the gRPC, HTTP and metrics ports together; more are closed as they open (0: no limit)")
        .env("CTM_CONNECTIONS_PER_CLIENT")
        .argParser(nonNegativeInt)
        .default(1024),
    )
    .addOption(
      new Option("--max-connections <n>", `connections ctmd holds open on the gRPC and HTTP ports together (not the metrics port); more are closed as they open ("auto": the limit on open files less ${FILES_KEPT} kept for the store, at least ${MIN_AUTO_CONNECTIONS}; 0: no limit)`)
        .env("CTM_MAX_CONNECTIONS")
        .argParser(autoOrCount)
        .default("auto"),
    )
    .addOption(
      new Option("--silent-connection-ms <ms>", "a connection to the gRPC port that sends nothing for this long after it opens is closed (0: never)")
        .env("CTM_SILENT_CONNECTION_MS")
        .argParser(nonNegativeInt)
        .default(10_000),
    )
    .addOption(
      new Option("--calls-per-client <n>", "gRPC calls one client address may have open at once (Watch streams included); more are refused RESOURCE_EXHAUSTED (0: no limit)")
        .env("CTM_CALLS_PER_CLIENT")
        .argParser(nonNegativeInt)
        .default(4096),
    )
    .addOption(
      new Option("--request-arrival-ms <ms>", "a gRPC call whose request has not arrived whole this long after the call started is ended DEADLINE_EXCEEDED (0: no limit)")
        .env("CTM_REQUEST_ARRIVAL_MS")
        .argParser(nonNegativeInt)
        .default(30_000),
    )
    .addOption(
      new Option("--shutdown-grace-ms <ms>", "how long SIGTERM waits for running calls")
        .env("CTM_SHUTDOWN_GRACE_MS")
        .argParser(positiveInt)
        .default(10_000),
    )
    .addOption(
      new Option("--scheduler-interval-ms <ms>", "how often the rollout scheduler looks for milestones that fell due")
        .env("CTM_SCHEDULER_INTERVAL_MS")
        .argParser(positiveInt)
        .default(1000),
    )
    .addOption(
      new Option("--health-interval-ms <ms>", "how often the health loop judges the checks of rolling and baking keys")
        .env("CTM_HEALTH_INTERVAL_MS")
        .argParser(positiveInt)
        .default(1000),
    )
    .addOption(
      new Option("--metrics-listen <host:port>", 'Prometheus /metrics address ("off" disables)')
        .env("CTM_METRICS_LISTEN")
        .argParser(metricsListenAddress)
        .default("127.0.0.1:9464"),
    )
    .addOption(
      new Option("--http-listen <host:port>", 'OFREP, the web console (/ui) and its JSON API (/api) ("off" disables)')
        .env("CTM_HTTP_LISTEN")
        .argParser(metricsListenAddress)
        .default("127.0.0.1:7480"),
    )
    .addOption(
      new Option("--http-rate-limit <n>", "requests per second each HTTP client (its token, else its address) may make; more are answered 429 with Retry-After (0: no limit)")
        .env("CTM_HTTP_RATE_LIMIT")
        .argParser(nonNegativeInt)
        .default(0),
    )
    .addOption(
      new Option("--http-allow-origins <origins>", 'comma-separated origins whose pages may call OFREP and the API from a browser (CORS), or "*"')
        .env("CTM_HTTP_ALLOW_ORIGINS")
        .argParser(originList)
        .default([], "none"),
    )
    .addOption(
      new Option("--access-log-max-age-ms <ms>", "access records older than this are removed in the background")
        .env("CTM_ACCESS_LOG_MAX_AGE_MS")
        .argParser(positiveInt)
        .default(7 * 24 * 3_600_000),
    )
    .addOption(
      new Option("--access-log-max-bytes <bytes>", "the access log is trimmed, oldest first, above this size")
        .env("CTM_ACCESS_LOG_MAX_BYTES")
        .argParser(positiveInt)
        .default(256 * 1024 * 1024),
    )
    .addOption(new Option("--access-log <on|off>", "log which config each Get with a request or unit id got").env("CTM_ACCESS_LOG").choices(["on", "off"]).default("on"))
    .addOption(
      new Option("--access-log-queue <records>", "records held in memory before new ones are dropped (and counted)")
        .env("CTM_ACCESS_LOG_QUEUE")
        .argParser(positiveInt)
        .default(50_000),
    )
    .addOption(
      new Option("--access-log-retention-interval-ms <ms>", "how often expired (by age or size) access records are removed")
        .env("CTM_ACCESS_LOG_RETENTION_INTERVAL_MS")
        .argParser(positiveInt)
        .default(60_000),
    )
    .addOption(
      new Option("--verify-on-start <scope>", "check the hash chain of every record at start (full), of those since the last start (tail), or full up to 50,000 revisions (auto)")
        .env("CTM_VERIFY_ON_START")
        .choices(["auto", "tail", "full"])
        .default("auto"),
    )
    .addOption(
      new Option("--verify-interval-ms <ms>", "how often the whole log is checked in the background (also right after a start that checked only the tail)")
        .env("CTM_VERIFY_INTERVAL_MS")
        .argParser(positiveInt)
        .default(24 * 3_600_000),
    )
    .addOption(
      new Option("--delete-guard-ms <ms>", "refuse to delete a key read within this long (FAILED_PRECONDITION naming its last read) unless the Delete sets force; 0: off")
        .env("CTM_DELETE_GUARD_MS")
        .argParser(nonNegativeInt)
        .default(0),
    )
    .addOption(
      new Option("--flapping-changes <n>", "a key changed by clients more than this many times within --flapping-window-ms is flapping: a metric and a warning")
        .env("CTM_FLAPPING_CHANGES")
        .argParser(positiveInt)
        .default(20),
    )
    .addOption(new Option("--flapping-window-ms <ms>", "see --flapping-changes").env("CTM_FLAPPING_WINDOW_MS").argParser(positiveInt).default(600_000))
    .addOption(
      new Option("--compact-interval-ms <ms>", "how often the retention policies (_ctm/retention/) are applied in the background; 0: only when asked (ctm compact)")
        .env("CTM_COMPACT_INTERVAL_MS")
        .argParser(nonNegativeInt)
        .default(3_600_000),
    )
    .addOption(new Option("--archive-dir <dir>", "where compaction writes the archive of what it removes (default: <data dir>/archive)").env("CTM_ARCHIVE_DIR"))
    .addOption(new Option("--tls-cert <file>", "serve TLS with this PEM certificate (chain), on the gRPC and /metrics ports; with --tls-key").env("CTM_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "the PEM private key of --tls-cert").env("CTM_TLS_KEY"))
    .addOption(new Option("--tls-client-ca <file>", "ask clients for a certificate signed by this PEM CA (mTLS)").env("CTM_TLS_CLIENT_CA"))
    .addOption(
      new Option("--tls-client-auth <mode>", "with --tls-client-ca: require a client certificate, or accept clients without one (optional)")
        .env("CTM_TLS_CLIENT_AUTH")
        .choices(["require", "optional"])
        .default("require"),
    )
    .addOption(new Option("--auth <mode>", "require a bearer token (or a client certificate) and check roles on every call").env("CTM_AUTH").choices(["on", "off"]).default("off"))
    .addOption(
      new Option("--auth-failure-delay-max-ms <ms>", "after 5 failed authentications in a minute, each refusal to that peer waits twice as long as the last, up to this (0: never)")
        .env("CTM_AUTH_FAILURE_DELAY_MAX_MS")
        .argParser((v) => (v === "0" ? 0 : positiveInt(v)))
        .default(2000),
    )
    .addOption(new Option("--insecure", "with --auth off, serve an address other than loopback anyway (anyone who reaches it can change everything)").env("CTM_INSECURE"))
    .addOption(
      new Option("--health-allow-hosts <hosts>", "comma-separated hosts (or host:port) that http and prometheus health checks may fetch")
        .env("CTM_HEALTH_ALLOW_HOSTS")
        .argParser(hostList)
        .default(["127.0.0.1", "localhost", "[::1]"], "127.0.0.1,localhost,[::1]"),
    )
    .addOption(
      new Option("--workers <n>", 'serve Get and Watch from n worker processes sharing the port, writes and history through this one ("auto": one per core; 0: this process serves alone)')
        .env("CTM_WORKERS")
        .argParser(workerCount)
        .default(0),
    )
    .addOption(
      new Option("--worker-max-lag <MiB>", "a read worker that falls this far behind the commits sent to it (encoded MiB not yet taken) is restarted and loads afresh")
        .env("CTM_WORKER_MAX_LAG")
        .argParser(positiveInt)
        .default(256),
    )
    .addOption(new Option("--store <kind>", "where the log lives: level (embedded LevelDB under --data-dir) or etcd (a cluster several replicas share)").env("CTM_STORE").choices(["level", "etcd"]).default("level"))
    .addOption(new Option("--etcd-endpoints <list>", "with --store etcd: the members' client addresses, host:port,host:port,...").env("CTM_ETCD_ENDPOINTS").argParser(hostList))
    .addOption(new Option("--etcd-prefix <prefix>", "with --store etcd: every key ctmd writes starts with it").env("CTM_ETCD_PREFIX").default("/ctm/"))
    .addOption(new Option("--etcd-user <name>", "with --store etcd: an etcd user (etcd auth)").env("CTM_ETCD_USER"))
    .addOption(new Option("--etcd-password-file <file>", "the file that holds --etcd-user's password").env("CTM_ETCD_PASSWORD_FILE"))
    .addOption(new Option("--etcd-lease-ttl <seconds>", "with --store etcd: the leader's lease; when the leader is gone, another replica runs the loops within it").env("CTM_ETCD_LEASE_TTL").argParser(positiveInt).default(10))
    .addOption(new Option("--etcd-ca <file>", "with --store etcd: talk TLS to etcd, checking its members against this PEM CA").env("CTM_ETCD_CA"))
    .addOption(new Option("--etcd-cert <file>", "a PEM client certificate for etcd (with --etcd-key)").env("CTM_ETCD_CERT"))
    .addOption(new Option("--etcd-key <file>", "the PEM private key of --etcd-cert").env("CTM_ETCD_KEY"))
    .addHelpText(
      "after",
      `
Signals: SIGTERM or SIGINT drain Watch streams, finish running calls and close LevelDB.
SIGHUP (with --tls-cert) reads the TLS files again; open connections keep theirs.
Example: ctmd --listen 127.0.0.1:7411 --data-dir /var/lib/ctm

On a stopped store:
  ctmd verify --data-dir DIR [--json]   check every record's hash chain and index entries
  ctmd repair --data-dir DIR [--json]   keep the longest intact prefix, report what was lost
  ctmd migrate --from DIR --etcd-endpoints LIST [--etcd-prefix P]   copy its history to etcd`,
    );
  program.parse(argv);
  const o = program.opts();
  const openFiles = o.maxConnections === "auto" ? openFilesLimit() : undefined;
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) program.error("error: --tls-cert and --tls-key go together", { exitCode: 2 });
  if (o.auth === "off" && !o.insecure && !isLoopbackListen(o.listen)) {
    program.error(`error: --listen ${o.listen} is not a loopback address and --auth is off: anyone who reaches it could change every key; turn on --auth on (or pass --insecure)`, { exitCode: 2 });
  }
  if (o.auth === "off" && !o.insecure && o.httpListen !== "off" && !isLoopbackListen(o.httpListen)) {
    program.error(`error: --http-listen ${o.httpListen} is not a loopback address and --auth is off: anyone who reaches it could change every key; turn on --auth on (or pass --insecure)`, { exitCode: 2 });
  }
  if (o.tlsClientCa !== undefined && o.tlsCert === undefined) program.error("error: --tls-client-ca needs --tls-cert and --tls-key", { exitCode: 2 });
  if (o.store === "etcd") {
    if (!o.etcdEndpoints) program.error("error: --store etcd needs --etcd-endpoints host:port[,host:port...]", { exitCode: 2 });
    if ((o.etcdCert === undefined) !== (o.etcdKey === undefined)) program.error("error: --etcd-cert and --etcd-key go together", { exitCode: 2 });
    if ((o.etcdUser === undefined) !== (o.etcdPasswordFile === undefined)) program.error("error: --etcd-user and --etcd-password-file go together", { exitCode: 2 });
    // Read workers follow the primary's commit stream; on etcd, more replicas do that job.
    if (o.workers > 0) program.error("error: --workers is for the embedded store; with --store etcd, run more replicas", { exitCode: 2 });
  }
  return {
    listen: o.listen,
    dataDir: o.dataDir,
    store: o.store,
    ...(o.store === "etcd"
      ? {
          etcd: {
            endpoints: o.etcdEndpoints,
            prefix: o.etcdPrefix,
            leaseTtlSeconds: o.etcdLeaseTtl,
            ...(o.etcdUser ? { user: o.etcdUser, passwordFile: o.etcdPasswordFile } : {}),
            ...(o.etcdCa ? { ca: o.etcdCa } : {}),
            ...(o.etcdCert ? { cert: o.etcdCert, key: o.etcdKey } : {}),
          },
        }
      : {}),
    logLevel: o.logLevel,
    logFormat: o.logFormat,
    watchProgressMs: o.watchProgressMs,
    watchStreamsPerClient: o.watchStreamsPerClient,
    requestBudgetMiB: o.requestBudgetMib,
    connectionsPerClient: o.connectionsPerClient,
    maxConnections: o.maxConnections === "auto" ? autoMaxConnections(openFiles) : (o.maxConnections as number),
    ...(openFiles === undefined ? {} : { openFiles }),
    silentConnectionMs: o.silentConnectionMs,
    callsPerClient: o.callsPerClient,
    requestArrivalMs: o.requestArrivalMs,
    shutdownGraceMs: o.shutdownGraceMs,
    schedulerIntervalMs: o.schedulerIntervalMs,
    healthIntervalMs: o.healthIntervalMs,
    metricsListen: o.metricsListen,
    httpListen: o.httpListen,
    httpRateLimit: o.httpRateLimit,
    httpAllowOrigins: o.httpAllowOrigins,
    accessLogMaxAgeMs: o.accessLogMaxAgeMs,
    accessLogMaxBytes: o.accessLogMaxBytes,
    accessLogQueue: o.accessLogQueue,
    accessLogRetentionIntervalMs: o.accessLogRetentionIntervalMs,
    accessLog: o.accessLog === "on",
    verifyOnStart: o.verifyOnStart,
    verifyIntervalMs: o.verifyIntervalMs,
    compactIntervalMs: o.compactIntervalMs,
    deleteGuardMs: o.deleteGuardMs,
    flappingChanges: o.flappingChanges,
    flappingWindowMs: o.flappingWindowMs,
    ...(o.archiveDir ? { archiveDir: o.archiveDir } : {}),
    tlsCert: o.tlsCert,
    tlsKey: o.tlsKey,
    tlsClientCa: o.tlsClientCa,
    tlsClientAuth: o.tlsClientAuth,
    auth: o.auth === "on",
    insecure: o.insecure === true,
    authFailureDelayMaxMs: o.authFailureDelayMaxMs,
    workers: o.workers,
    workerMaxLagMiB: o.workerMaxLag,
    healthAllowHosts: o.healthAllowHosts,
  };
}
