import { execFile, spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

/** The built CLI: `npm run build` first, as for the daemon tests. */
export const CLI = resolve(import.meta.dirname, "../../dist/src/cli/main.js");

const execFileP = promisify(execFile);

export interface CtmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: nothing inherited that changes colors or the address. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, CTM_AUTHOR: "tester" };
  for (const k of ["FORCE_COLOR", "NO_COLOR", "CTM_ADDRESS", "CTM_TIMEOUT", "CTM_TOKEN"]) delete e[k];
  return { ...e, ...extra };
}

/** Runs `node dist/src/cli/main.js --address <address> ...args` and resolves its exit code and output. */
export async function ctm(address: string | undefined, args: string[], extraEnv: Record<string, string> = {}): Promise<CtmResult> {
  const argv = [CLI, ...(address ? ["--address", address] : []), ...args];
  try {
    const r = await execFileP(process.execPath, argv, { env: env(extraEnv), timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof x.code !== "number") throw e;
    return { code: x.code, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

/** Runs with --json, expects exit 0 and parses stdout. */
export async function ctmJson<T = Record<string, any>>(address: string, args: string[]): Promise<T> {
  const r = await ctm(address, ["--json", ...args]);
  if (r.code !== 0) throw new Error(`ctm ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A long-running CLI process (watch): its stdout lines as they come, and its exit. */
export class CtmProcess {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private gone = false;

  constructor(address: string, args: string[]) {
    this.proc = spawn(process.execPath, [CLI, "--address", address, ...args], { env: env({}), stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((res) =>
      this.proc.once("exit", (code) => {
        this.gone = true;
        res(code);
      }),
    );
    createInterface({ input: this.proc.stdout! }).on("line", (l) => this.lines.push(l));
    this.proc.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
  }

  /** Resolves once `n` lines have arrived (a liveness bound, not a speed assertion). */
  async untilLines(n: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lines.length < n) {
      if (this.gone || Date.now() > deadline) throw new Error(`got ${this.lines.length} of ${n} lines; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves once stderr contains `text`. */
  async untilStderr(text: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stderr.includes(text)) {
      if (this.gone || Date.now() > deadline) throw new Error(`stderr never said "${text}": ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }
}
