/**
 * The Dockerfile, built without a Docker engine (test/helpers/dockerfile.ts): the build stage
 * installs, builds and prunes as written, from the context .dockerignore leaves; then the
 * image's files alone, with the image's environment, start ctmd, which writes its admin token,
 * serves a write with it, answers the HEALTHCHECK SERVING and stops cleanly on STOPSIGNAL.
 */
import { execFile, spawn } from "node:child_process";
import { access, mkdir, mkdtemp, readFile, realpath, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect, rejects } from "../helpers/client.js";
import { runDockerfile, type Stage } from "../helpers/dockerfile.js";

const ROOT = resolve(import.meta.dirname, "../..");
let work: string;
let image: Stage;
let build: Stage;

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
const exists = (p: string) => access(p).then(() => true, () => false);
const meta = (s: Stage, op: string) => s.meta.find((i) => i.op === op)?.args ?? "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ctm-image-"));
  // npm's own settings from the test run (its prefix, its cache mode) stay out of the build.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const stages = await runDockerfile(ROOT, "Dockerfile", work, { ...env, npm_config_prefer_offline: "true" }, async (stage, command) => {
    // The image creates its data directory as root and hands it to "node"; here the directory is made in the stage.
    const m = /^mkdir -p (\/\S+) && chown node:node \1$/.exec(command);
    if (!m) return false;
    await mkdir(join(stage.root, m[1]!), { recursive: true });
    return true;
  });
  build = stages.get("build")!;
  image = [...stages.values()].at(-1)!;
}, 600_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the Dockerfile", () => {
  it("ships the compiled daemon and @ctm/core with production dependencies only", async () => {
    const app = join(image.root, image.workdir);
    expect(await exists(join(app, "dist/src/main.js"))).toBe(true);
    expect(await exists(join(app, "dist/console/index.html"))).toBe(true);
    expect(await realpath(join(app, "node_modules/@ctm/core"))).toBe(join(app, "packages/core"));
    expect(await exists(join(app, "packages/core/dist/rollout/evaluate.js"))).toBe(true);
    // No sources, no compiler, no SDK: the build stage had them.
    for (const absent of ["src", "packages/core/src", "node_modules/typescript", "node_modules/vitest", "node_modules/@ctm/client"]) expect(await exists(join(app, absent)), absent).toBe(false);
    expect(await exists(join(build.root, build.workdir, "node_modules/typescript"))).toBe(false);
  });

  it("starts ctmd from the image's files and environment: admin token, a write, HEALTHCHECK SERVING, STOPSIGNAL stops it", async () => {
    const app = join(image.root, image.workdir);
    const dataDir = join(image.root, image.env.CTM_DATA_DIR!);
    expect(await exists(dataDir)).toBe(true);
    const port = await freePort();
    // The image's environment, its listeners moved to loopback and its data directory into the stage.
    const env = { PATH: process.env.PATH, ...image.env, CTM_LISTEN: `127.0.0.1:${port}`, CTM_METRICS_LISTEN: "127.0.0.1:0", CTM_HTTP_LISTEN: "127.0.0.1:0", CTM_DATA_DIR: dataDir };
    expect(image.env).toMatchObject({ NODE_ENV: "production", CTM_AUTH: "on" });
    const [cmd, ...args] = JSON.parse(meta(image, "ENTRYPOINT")) as string[];
    const proc = spawn(cmd!, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const lines: string[] = [];
    const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
    try {
      await new Promise<void>((res, rej) => {
        proc.once("exit", () => rej(new Error(`ctmd exited: ${stderr}`)));
        createInterface({ input: proc.stdout! }).on("line", (l) => {
          lines.push(l);
          if (l.includes('"msg":"listening"')) res();
        });
      });
      const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
      expect((await stat(join(dataDir, "admin.token"))).mode & 0o777).toBe(0o600);

      const c = connect(`127.0.0.1:${port}`);
      expect((await rejects(api(c).set({ key: "image/k", value: 1 }))).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await api(c, token).set({ key: "image/k", value: 1 })).entry?.version).toBe(1);
      expect((await api(c, token).get({ key: "image/k" })).value).toBe(1);
      c.close();

      const health = /CMD\s+(\[.*\])$/.exec(meta(image, "HEALTHCHECK"))!;
      const [hcmd, ...hargs] = JSON.parse(health[1]!) as string[];
      const probe = await promisify(execFile)(hcmd!, hargs, { cwd: app, env, timeout: 30_000 });
      expect(probe.stdout.trim()).toBe("SERVING");
    } finally {
      proc.kill(meta(image, "STOPSIGNAL") as NodeJS.Signals);
    }
    expect(await exited).toBe(0);
    expect(lines.at(-1)).toContain('"msg":"stopped"');
  }, 60_000);
});
