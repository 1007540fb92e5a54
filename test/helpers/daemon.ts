import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const MAIN = resolve(import.meta.dirname, "../../dist/src/main.js");

export interface DaemonOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** The process's limit on open files (`ulimit -n`, set by sh, which then becomes the daemon). */
  openFiles?: number;
}

/** A real ctmd process on 127.0.0.1:0 with a real LevelDB directory. */
export class Daemon {
  address = "";
  /** What the process wrote to stderr so far (warnings; ctmd logs to stdout). */
  stderr = "";
  /** The HTTP face (OFREP, /api, /ui), host:port. */
  http = "";
  readonly logs: Record<string, unknown>[] = [];
  private proc: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  private constructor(
    readonly dataDir: string,
    private readonly opts: DaemonOptions,
    private readonly ownsDir: boolean,
  ) {}

  static async start(opts: DaemonOptions = {}): Promise<Daemon> {
    const owns = opts.dataDir === undefined;
    const dir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "ctm-test-")));
    const d = new Daemon(dir, opts, owns);
    try {
      await d.launch();
    } catch (e) {
      // A daemon that never listened leaves no directory behind.
      if (owns) await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return d;
  }

  /** Starts the process (again) on the same data directory. */
  async launch(): Promise<void> {
    const argv = [MAIN, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", this.dataDir, ...(this.opts.args ?? [])];
    const limit = this.opts.openFiles;
    const proc = spawn(limit === undefined ? process.execPath : "sh", limit === undefined ? argv : ["-c", `ulimit -n ${limit} && exec "$@"`, "sh", process.execPath, ...argv], {
      env: { ...process.env, ...this.opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    this.exited = new Promise((res) => proc.once("exit", (code) => res(code)));
    let stderr = "";
    proc.stderr!.on("data", (b: Buffer) => {
      stderr += b.toString();
      this.stderr += b.toString();
    });
    const lines = createInterface({ input: proc.stdout! });
    this.address = await new Promise<string>((res, rej) => {
      const fail = () => rej(new Error(`ctmd exited before listening: ${stderr}`));
      proc.once("exit", fail);
      lines.on("line", (line) => {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        this.logs.push(rec);
        if (rec.msg === "listening") {
          proc.off("exit", fail);
          this.http = String(rec.http);
          res(String(rec.address));
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Sends `sig` (SIGHUP: reload the TLS files) to the running process. */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** SIGTERM and wait: the graceful path. Resolves the exit code. */
  async stop(): Promise<number | null> {
    this.proc?.kill("SIGTERM");
    return this.exited;
  }

  /** SIGKILL: no chance to flush anything. */
  async kill(): Promise<void> {
    this.proc?.kill("SIGKILL");
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async dispose(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) await this.kill();
    if (this.ownsDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

export interface DaemonExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs ctmd with exactly `args` (no defaults added) until it exits by itself: for starts
 * that must be refused. A daemon still running after `withinMs` is killed and reported
 * with code null, which no refusal test accepts.
 */
export function runDaemonToExit(args: string[], { env = {}, withinMs = 20_000 }: { env?: Record<string, string>; withinMs?: number } = {}): Promise<DaemonExit> {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => proc.kill("SIGKILL"), withinMs);
  return new Promise((res) =>
    proc.once("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    }),
  );
}
