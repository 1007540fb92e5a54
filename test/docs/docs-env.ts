import { execFile, spawn, type ChildProcess } from "node:child_process";
import { access, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { codeBlocks } from "./code-blocks.js";

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "../..");
const SHIM = join(import.meta.dirname, "grpcurl-shim");

/** The README's own install line: the docs test puts `ctm` and `ctmd` on PATH exactly that way. */
export async function installLine(): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const line = codeBlocks(readme)
    .flatMap((b) => b.code.split("\n"))
    .find((l) => /^npm (install -g|link)\b/.test(l));
  if (!line) throw new Error("README.md has no `npm install -g` line");
  return line.replace(/\s+#.*$/, "");
}

/**
 * A scratch world for the README examples: `ctm` and `ctmd` installed as the README says
 * (into a temporary npm prefix, so the machine's global packages stay as they were), the
 * grpcurl shim first on PATH, HOME in the scratch directory (the Go example builds under
 * $HOME/go), copies of the clients the examples build, and `@ctm/client` resolving to the
 * SDK's sources.
 */
export class DocsEnv {
  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(): Promise<DocsEnv> {
    const dir = await mkdtemp(join(tmpdir(), "ctm-docs-"));
    const prefix = join(dir, "npm-prefix");
    // npx and npm run export npm_config_prefix=/usr (and friends) to their children: without
    // dropping them, `npm install -g` would link into the machine's own global directory.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
    await run("bash", ["-c", await installLine()], { cwd: ROOT, env: { ...base, npm_config_prefix: prefix }, timeout: 120_000 });
    await access(join(prefix, "bin/ctmd"));
    const home = join(dir, "home");
    await mkdir(home);
    const env: NodeJS.ProcessEnv = { ...base, HOME: home, PATH: `${SHIM}:${join(prefix, "bin")}:${process.env.PATH}`, NO_COLOR: "1", CTM_AUTHOR: "docs" };
    for (const k of ["CTM_ADDRESS", "CTM_TIMEOUT", "FORCE_COLOR"]) delete env[k];
    return new DocsEnv(dir, env);
  }

  /** A fresh working directory for one README. */
  async workDir(name: string): Promise<string> {
    const work = join(this.dir, name);
    await mkdir(join(work, "clients"), { recursive: true });
    // Copies: the examples build in them (pip, go), which must not write into the checkout.
    await cp(join(ROOT, "clients/python"), join(work, "clients/python"), { recursive: true, filter: (s) => !s.includes("__pycache__") });
    await cp(join(ROOT, "clients/go"), join(work, "clients/go"), { recursive: true });
    await cp(join(ROOT, "test/vectors"), join(work, "test/vectors"), { recursive: true });
    await symlink(join(ROOT, "clients/ts"), join(work, "clients/ts"));
    const pkg = join(work, "ts/node_modules/@ctm/client");
    await mkdir(pkg, { recursive: true });
    const exports = { ".": "./index.ts", "./openfeature": "./openfeature.ts" };
    await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "@ctm/client", type: "module", exports }));
    for (const name of ["index", "openfeature"]) {
      await writeFile(join(pkg, `${name}.ts`), `export * from ${JSON.stringify(join(ROOT, `clients/ts/src/${name}.ts`))};\n`);
    }
    await writeFile(join(work, "ts/package.json"), '{"type":"module"}');
    return work;
  }

  /** `ctmd` from PATH on a free loopback port and a fresh data directory. */
  async startDaemon(dataDir: string): Promise<{ address: string; http: string; proc: ChildProcess; stop: () => Promise<number | null> }> {
    const proc = spawn("ctmd", ["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "127.0.0.1:0", "--data-dir", dataDir], { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
    const [address, http] = await new Promise<[string, string]>((res, rej) => {
      proc.once("exit", () => rej(new Error(`ctmd exited before listening: ${stderr}`)));
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        const m = /"msg":"listening"/.test(line) ? /"address":"([^"]+)"/.exec(line) : null;
        if (m) res([m[1]!, /"http":"([^"]+)"/.exec(line)![1]!]);
      });
    });
    return { address, http, proc, stop: () => (proc.kill("SIGTERM"), exited) };
  }

  dispose(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
