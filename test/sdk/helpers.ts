import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach } from "vitest";
import { CtmClient, type CtmClientOptions } from "../../clients/ts/src/index.js";
import { Daemon } from "../helpers/daemon.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** Runs `f` after the current test, last registered first. */
export const defer = (f: () => Promise<unknown> | unknown): void => void cleanups.push(f);

/** A TCP port that was free a moment ago (the kernel's pick), for a daemon that must keep its address across restarts. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, "close");
  return port;
}

/**
 * A real ctmd on a fixed port, so that `kill()` + `launch()` brings it back at the same
 * address (the later --listen wins over the helper's 127.0.0.1:0).
 */
export async function startDaemon(args: string[] = []): Promise<Daemon> {
  const port = await freePort();
  const daemon = await Daemon.start({ args: ["--listen", `127.0.0.1:${port}`, ...args] });
  defer(() => daemon.dispose());
  if (daemon.address !== `127.0.0.1:${port}`) throw new Error(`daemon listens on ${daemon.address}, not on port ${port}`);
  return daemon;
}

/** Fast reconnects, so that tests spend their time on behaviour, not on backoff. */
export const FAST: Partial<CtmClientOptions> = {
  retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
  watchBackoff: { initialBackoffMs: 20, maxBackoffMs: 300 },
  channelOptions: { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 300 },
};

export function client(address: string, opts: Partial<CtmClientOptions> = {}): CtmClient {
  const c = new CtmClient({ address, ...FAST, ...opts });
  defer(() => c.close());
  return c;
}

/** Polls `cond` until it holds; rejects after `ms` (a liveness bound, never a speed assertion). */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
