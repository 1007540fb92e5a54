import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CodeBlock } from "./code-blocks.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

export interface BlockRun {
  code: number | null;
  output: string;
}

/** Where and how a README's blocks run: one working directory and environment for all of them. */
export interface BlockContext {
  /** The scratch directory: the blocks' working directory, with copies of the clients they build. */
  work: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Runs `cmd` in its own process group, so that a block that hangs is killed whole. */
function exec(cmd: string, args: string[], ctx: BlockContext, extraEnv: Record<string, string> = {}): Promise<BlockRun> {
  const proc = spawn(cmd, args, { cwd: ctx.work, env: { ...ctx.env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  proc.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const timer = setTimeout(() => {
    output += `\n[killed after ${ctx.timeoutMs} ms]`;
    process.kill(-proc.pid!, "SIGKILL");
  }, ctx.timeoutMs);
  return new Promise((res) =>
    proc.once("close", (code) => {
      clearTimeout(timer);
      res({ code, output: output.slice(-8000) });
    }),
  );
}

/**
 * Runs one block as a reader would paste it. Shell blocks share variables through a file,
 * as one terminal session would (`A=...` in one block is used by the next); each command
 * is traced, so a failure names its command.
 */
export async function runBlock(block: CodeBlock, ctx: BlockContext): Promise<BlockRun> {
  switch (block.lang) {
    case "sh": {
      const state = join(ctx.work, ".shell-state");
      const script = `set -euo pipefail -a\n[ -f ${state} ] && source ${state}\nset -x\n${block.code}\nset +x\nexport -p > ${state}\n`;
      return exec("bash", ["-c", script], ctx);
    }
    case "python": {
      const file = join(ctx.work, `example-${block.line}.py`);
      await writeFile(file, block.code);
      return exec("/usr/bin/python3", [file], ctx, { PYTHONPATH: join(ctx.work, "clients/python") });
    }
    case "ts": {
      // `@ctm/client` resolves to the SDK's sources in this checkout (see DocsEnv).
      const file = join(ctx.work, "ts", `example-${block.line}.mts`);
      await writeFile(file, block.code);
      return exec(TSX, [file], ctx);
    }
    case "go": {
      const dir = join(ctx.env.HOME!, "go/src/ctm.dev/examples", `line${block.line}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "main.go"), block.code);
      return exec("go", ["run", "."], { ...ctx, work: dir }, { GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "", GOPATH: `${ctx.env.HOME}/go:/usr/share/gocode` });
    }
    default:
      throw new Error(`no runner for ${block.lang} blocks`);
  }
}
