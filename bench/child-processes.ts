import { type ChildProcess, fork, spawn, type ForkOptions, type SpawnOptions } from "node:child_process";

/**
 * ChildProcesses tracks every process the bench starts so that all of them die with it:
 * closeAll() on the normal path, and a synchronous SIGKILL sweep from process 'exit' and
 * signal handlers on every other path (error, Ctrl-C).
 */
export class ChildProcesses {
  private readonly live = new Set<ChildProcess>();
  private readonly onExit = (): void => this.killAllNow();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killAllNow();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };

  constructor() {
    process.on("exit", this.onExit);
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options }));
  }

  /** Runs a bench/*.ts entry in its own node process (tsx loader), with an IPC channel. */
  forkTs(entry: string, args: readonly string[], options: ForkOptions = {}): ChildProcess {
    return this.track(
      fork(entry, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "pipe", "pipe", "ipc"], ...options }),
    );
  }

  /** SIGTERM, then SIGKILL whatever is still alive after `graceMs`. */
  async closeAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.live].map((child) => stop(child, graceMs)));
  }

  dispose(): void {
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  private track(child: ChildProcess): ChildProcess {
    this.live.add(child);
    child.once("exit", () => this.live.delete(child));
    // A child that fails to start must not crash the driver with an unhandled 'error'.
    child.on("error", () => this.live.delete(child));
    return child;
  }

  private killAllNow(): void {
    for (const child of this.live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.live.clear();
  }
}

/** Stops one child by its own handle (never by name) and waits for it to exit. */
export async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
