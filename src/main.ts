#!/usr/bin/env node
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pino, type Logger } from "pino";
import { systemClock } from "./domain/clock.js";
import { LIMITS } from "./domain/limits.js";
import { parseConfig, type DaemonConfig } from "./config.js";
import { RolloutScheduler } from "./scheduler/rollout-scheduler.js";
import { ConfigService } from "./service/config-service.js";
import { RolloutService } from "./service/rollout-service.js";
import { LevelLogStore } from "./storage/level/level-log-store.js";
import { GrpcTransport } from "./transport/grpc/grpc-server.js";
import { WatchHub } from "./watch/watch-hub.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function makeLogger(cfg: DaemonConfig): Logger {
  if (cfg.logFormat === "pretty") {
    return pino({ level: cfg.logLevel, transport: { target: "pino-pretty", options: { destination: 1 } } });
  }
  // Asynchronous stdout keeps logging off the RPC hot path; flushed on exit.
  return pino({ level: cfg.logLevel }, pino.destination({ dest: 1, sync: false }));
}

/** The composition root: config -> storage -> watch -> service -> transport. */
async function main(): Promise<void> {
  const cfg = parseConfig(process.argv, version);
  const log = makeLogger(cfg);
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });

  const t0 = performance.now();
  const store = new LevelLogStore(dataDir, systemClock);
  await store.open();
  const hub = new WatchHub(store);
  const svc = new ConfigService(store, hub, systemClock);
  const rollouts = new RolloutService(store, systemClock);
  const scheduler = new RolloutScheduler(rollouts, log.child({ component: "scheduler" }), cfg.schedulerIntervalMs);
  const transport = new GrpcTransport({ config: svc, rollouts }, log.child({ component: "grpc" }), {
    watch: { progressIntervalMs: cfg.watchProgressMs },
    maxReceiveBytes: LIMITS.valueBytes * 4 + 1024 * 1024,
  });
  const address = await transport.listen(cfg.listen);
  transport.setServing(true);
  scheduler.start();
  // The health service follows the store: a failed batch means NOT_SERVING.
  const healthTimer = setInterval(() => transport.setServing(store.healthy), 1000);
  healthTimer.unref();
  log.info(
    { address, dataDir, revision: store.headRevision, keys: store.latestUnder("").length, openMs: Math.round(performance.now() - t0), version },
    "listening",
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining");
    clearInterval(healthTimer);
    transport.setServing(false);
    await scheduler.close();
    hub.close();
    await transport.shutdown(cfg.shutdownGraceMs);
    rollouts.close();
    await store.close();
    log.info({ revision: store.headRevision, ...store.stats }, "stopped");
    log.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`ctmd: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
