/**
 * Runs a Dockerfile's steps without a Docker engine, each stage in its own directory standing
 * for the container's root: COPY (from the build context, less .dockerignore, or from an
 * earlier stage), WORKDIR, ENV and RUN, in order. What it does not know, it refuses, so a new
 * instruction in the Dockerfile fails the test that uses it instead of being skipped silently.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import picomatch from "picomatch";

const run = promisify(execFile);

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  /** The instructions that only describe the image (EXPOSE, HEALTHCHECK, ENTRYPOINT...). */
  meta: Instruction[];
}

/** The Dockerfile's instructions, continuation lines joined, comments and parser directives dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  const joined = lines.join("\n").replace(/\\\n\s*/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

/** A filter over paths relative to the context that leaves out what .dockerignore lists. */
function contextFilter(context: string, patterns: string[]): (path: string) => boolean {
  const ignored = patterns.map((p) => picomatch(p.replace(/^\/+/, ""), { dot: true }));
  return (path) => {
    const rel = relative(context, path).split("\\").join("/");
    if (rel === "") return true;
    const parts = rel.split("/");
    // Docker leaves a path out when it or any directory above it matches.
    return !parts.some((_, i) => ignored.some((m) => m(parts.slice(0, i + 1).join("/"))));
  };
}

const isDir = async (p: string): Promise<boolean> => (await stat(p)).isDirectory();

/**
 * Runs every stage of `dockerfile` (in `context`) under `work`, returning the stages by name.
 * A RUN step that names an absolute path cannot run outside a container: `standIn` is asked to
 * do its work in the stage's root instead, and the run fails when it does not.
 */
export async function runDockerfile(
  context: string,
  dockerfile: string,
  work: string,
  env: NodeJS.ProcessEnv,
  standIn: (stage: Stage, command: string) => Promise<boolean> = async () => false,
): Promise<Map<string, Stage>> {
  const ignore = (await readFile(join(context, ".dockerignore"), "utf8").catch(() => "")).split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const keep = contextFilter(context, ignore);
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  const inStage = (s: Stage, p: string) => join(s.root, posix.isAbsolute(p) ? p : posix.join(s.workdir, p));
  for (const ins of parseDockerfile(await readFile(join(context, dockerfile), "utf8"))) {
    if (ins.op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const name = m[2] ?? `stage${stages.size}`;
      stage = { name, root: join(work, name), workdir: "/", env: {}, meta: [] };
      await mkdir(stage.root, { recursive: true });
      stages.set(name, stage);
      continue;
    }
    if (!stage) throw new Error(`${ins.op} before FROM`);
    switch (ins.op) {
      case "WORKDIR":
        stage.workdir = posix.resolve(stage.workdir, ins.args);
        await mkdir(inStage(stage, "."), { recursive: true });
        break;
      case "ENV":
        for (const m of ins.args.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!;
        break;
      case "COPY": {
        const words = ins.args.split(/\s+/);
        const from = words[0]!.startsWith("--from=") ? stages.get(words.shift()!.slice("--from=".length)) : undefined;
        if (words.some((w) => w.startsWith("--"))) throw new Error(`COPY option not understood: ${ins.args}`);
        const dest = words.pop()!;
        for (const src of words) {
          const source = from ? join(from.root, src) : join(context, src);
          const target = dest.endsWith("/") || words.length > 1 ? join(inStage(stage, dest), basename(src)) : inStage(stage, dest);
          if (await isDir(source)) await cp(source, inStage(stage, dest), { recursive: true, verbatimSymlinks: true, filter: from ? undefined : keep });
          else {
            if (!from && !keep(source)) throw new Error(`COPY ${src}: .dockerignore leaves it out of the context`);
            await mkdir(dirname(target), { recursive: true });
            await cp(source, target);
          }
        }
        break;
      }
      case "RUN":
        if (/(^|\s)\/(?!dev\/null)/.test(ins.args)) {
          if (await standIn(stage, ins.args)) break;
          throw new Error(`RUN with an absolute path cannot run outside a container: ${ins.args}`);
        }
        await run("bash", ["-c", ins.args], { cwd: inStage(stage, "."), env: { ...env, ...stage.env }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
        break;
      case "EXPOSE":
      case "VOLUME":
      case "USER":
      case "HEALTHCHECK":
      case "STOPSIGNAL":
      case "ENTRYPOINT":
      case "CMD":
        stage.meta.push(ins);
        break;
      default:
        throw new Error(`Dockerfile instruction not understood: ${ins.op}`);
    }
  }
  return stages;
}
