/**
 * Running the Python and Go clients from interop tests, always asynchronously (the daemon is a
 * separate process, but a test's TypeScript client and watch streams share this event loop).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const ROOT = resolve(import.meta.dirname, "../..");
/** Debian's python3, which has python3-grpcio and python3-protobuf (the pyenv one on PATH has not). */
export const PYTHON = "/usr/bin/python3";
export const PY_INTEROP = join(ROOT, "test/interop/python/interop.py");
export const PY_ENV = { ...process.env, PYTHONPATH: join(ROOT, "clients/python"), PYTHONUNBUFFERED: "1" };

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** execFile as a promise with a hard timeout; a failure carries the child's stderr. */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    execFile(
      file,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT, timeout: opts.timeoutMs ?? 30_000, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as Error & { code?: unknown; killed?: boolean };
          rej(new Error(`${file} ${args.slice(0, 2).join(" ")} failed (exit ${String(e.code)}${e.killed ? ", killed by the timeout" : ""}):\n${stderr}\n${stdout}`.slice(0, 8000)));
        } else res({ stdout, stderr });
      },
    );
  });
}

export const runPython = (args: string[], timeoutMs = 30_000): Promise<RunResult> => run(PYTHON, [PY_INTEROP, ...args], { env: PY_ENV, timeoutMs });

/**
 * A temporary GOPATH holding clients/go at src/ctm.dev/clients/go (a symlink), so that
 * `go build ctm.dev/...` works offline in GOPATH mode with Debian's packages in
 * /usr/share/gocode. GOCACHE persists in the temp dir across runs unless set by the caller.
 */
export class GoPath {
  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(): Promise<GoPath> {
    const dir = await mkdtemp(join(tmpdir(), "ctm-gopath-"));
    await mkdir(join(dir, "src/ctm.dev/clients"), { recursive: true });
    await symlink(join(ROOT, "clients/go"), join(dir, "src/ctm.dev/clients/go"));
    await mkdir(join(dir, "bin"));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: `${dir}:/usr/share/gocode`,
      GOPROXY: "off",
      GOFLAGS: "",
      GOTOOLCHAIN: "local",
      GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "ctm-interop-gocache"),
    };
    return new GoPath(dir, env);
  }

  /** Builds a main package (an import path) into <dir>/bin and returns the binary's path. */
  async build(pkg: string, timeoutMs = GO_BUILD_MS - 5_000): Promise<string> {
    const out = join(this.dir, "bin", pkg.split("/").pop()!);
    await run("go", ["build", "-o", out, pkg], { env: this.env, cwd: this.dir, timeoutMs });
    return out;
  }

  /** `go test` of import paths; resolves with the output whatever the exit code. */
  test(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 55_000): Promise<{ code: number | null; output: string }> {
    return new Promise((res, rej) => {
      const p = spawn("go", ["test", ...args], { env: { ...this.env, ...env }, cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      p.stdout.on("data", (b: Buffer) => (output += b.toString()));
      p.stderr.on("data", (b: Buffer) => (output += b.toString()));
      const timer = setTimeout(() => {
        p.kill("SIGKILL");
        rej(new Error(`go test timed out after ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      p.on("error", rej);
      p.on("close", (code) => {
        clearTimeout(timer);
        res({ code, output });
      });
    });
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Liveness bound of a hook that builds Go: about 3 s with a warm GOCACHE, 20-35 s cold on two
 * cores (two test files may build at once). A bound, not a speed assertion.
 */
export const GO_BUILD_MS = 100_000;

export type JsonLine = Record<string, unknown>;

/** A long-running child that prints one JSON object per line; tests wait on its lines. */
export class LineProcess {
  readonly lines: JsonLine[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private waiters: (() => void)[] = [];
  private exitCode: number | null | undefined;

  constructor(file: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(file, args, { env, cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: this.proc.stdout! }).on("line", (l) => {
      try {
        this.lines.push(JSON.parse(l) as JsonLine);
      } catch {
        this.lines.push({ type: "garbage", line: l });
      }
      this.poke();
    });
    this.exited = new Promise((res) =>
      this.proc.once("exit", (code) => {
        this.exitCode = code;
        this.poke();
        res(code);
      }),
    );
  }

  of(type: string): JsonLine[] {
    return this.lines.filter((l) => l.type === type);
  }

  /** Resolves when cond holds; rejects after ms, or when the process exits first. */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.exitCode !== undefined) throw new Error(`process exited (${this.exitCode}) before ${what}: ${this.stderr}\n${JSON.stringify(this.lines)}`);
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}; lines ${JSON.stringify(this.lines)}; stderr ${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Waits for the exit (bounded), killing the process if it does not come. */
  async wait(ms = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.kill();
      throw new Error(`process did not exit within ${ms} ms; lines ${JSON.stringify(this.lines)}; stderr ${this.stderr}`);
    }
    return r;
  }

  /** Writes one line to the process's stdin (for children that take commands). */
  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  kill(): void {
    if (this.exitCode === undefined) this.proc.kill("SIGKILL");
  }

  private poke(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export const pythonWatch = (args: string[]): LineProcess => new LineProcess(PYTHON, [PY_INTEROP, "watch", ...args], PY_ENV);

/** A free loopback port (for a daemon that must come back on the same address). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}
