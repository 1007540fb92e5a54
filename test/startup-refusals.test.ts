import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Daemon, runDaemonToExit, type DaemonExit } from "./helpers/daemon.js";

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
let scratch = "";

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "ctm-refusals-"));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** The contract of every refusal: the status, one line on stderr that says `expected`, no stack, never "listening". */
function expectRefusal(r: DaemonExit, code: number, expected: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code, stderr: expect.stringMatching(expected) });
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^ctmd: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toContain('"listening"');
}

const fresh = async (name: string): Promise<string> => join(scratch, name);

describe("ctmd refuses to start with one line and a status", () => {
  it("a gRPC port in use: exit 1, the address named, no grpc-js line before it", async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => blocker.close(res)));
    const port = (blocker.address() as { port: number }).port;
    const r = await runDaemonToExit(["--listen", `127.0.0.1:${port}`, "--metrics-listen", "off", "--http-listen", "off", "--data-dir", await fresh("port")]);
    expectRefusal(r, 1, new RegExp(`^ctmd: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
  });

  it("a metrics port in use: exit 1", async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => blocker.close(res)));
    const port = (blocker.address() as { port: number }).port;
    const r = await runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", `127.0.0.1:${port}`, "--http-listen", "off", "--data-dir", await fresh("mport")]);
    expectRefusal(r, 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
  });

  it.each([
    ["--listen", "localhost", /--listen.*'localhost' is invalid\. a port is required/],
    ["--listen", "127.0.0.300:7411", /--listen.*"127\.0\.0\.300" is not an IP address or host name/],
    ["--listen", "::1:7411", /--listen.*expected host:port/],
    ["--listen", "127.0.0.1:70000", /--listen.*port 70000 is above 65535/],
    ["--metrics-listen", "localhost", /--metrics-listen.*a port is required/],
  ])("usage: %s %s is exit 2 before anything binds", async (flag, value, expected) => {
    const dir = await fresh(`usage-${flag}-${value}`);
    const r = await runDaemonToExit(["--data-dir", dir, flag, value]);
    expectRefusal(r, 2, expected);
  });

  it("usage: an address in the environment is checked like the flag", async () => {
    const r = await runDaemonToExit(["--data-dir", await fresh("env")], { env: { CTM_LISTEN: "localhost" } });
    expectRefusal(r, 2, /a port is required/);
  });

  it("usage: an unknown flag or a bad number is exit 2, as in the CLI", async () => {
    expectRefusal(await runDaemonToExit(["--no-such-flag"]), 2, /^ctmd: unknown option '--no-such-flag'/);
    expectRefusal(await runDaemonToExit(["--watch-progress-ms", "-5"]), 2, /--watch-progress-ms.*must be a positive integer/);
    expectRefusal(await runDaemonToExit(["--worker-max-lag", "0"]), 2, /--worker-max-lag.*must be a positive integer/);
  });

  it("a host with no local interface: exit 1", async () => {
    const r = await runDaemonToExit(["--listen", "192.0.2.1:7411", "--auth", "on", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", await fresh("noif")]);
    expectRefusal(r, 1, /^ctmd: cannot listen on 192\.0\.2\.1:7411: no local interface has this address/);
  });

  it.each([
    ["--listen", ["--http-listen", "off"]],
    ["--http-listen", ["--listen", "127.0.0.1:0"]],
  ])("a %s host name that does not resolve: exit 1, the name named", async (flag, rest) => {
    const r = await runDaemonToExit([flag, "no-such-host.invalid:7411", ...rest, "--auth", "on", "--metrics-listen", "off", "--data-dir", await fresh(`nohost${flag}`)]);
    expectRefusal(r, 1, /^ctmd: cannot listen on no-such-host\.invalid: the host name does not resolve/);
  });

  it("a data directory held by another ctmd: exit 1, the directory named", async () => {
    const first = await Daemon.start();
    cleanups.push(() => first.dispose());
    const r = await runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", first.dataDir]);
    expectRefusal(r, 1, new RegExp(`^ctmd: .*${first.dataDir} is in use by another ctmd`));
  });

  it("a store on a read-only file system: exit 1", async () => {
    // Root ignores file modes, so only a read-only mount makes the directory unwritable here.
    const mnt = await fresh("ro");
    await mkdir(mnt);
    await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
    cleanups.push(() => run("umount", ["-l", mnt]));
    const d = await Daemon.start({ dataDir: join(mnt, "store") });
    expect(await d.stop()).toBe(0);
    await run("mount", ["-o", "remount,ro", mnt]);
    const r = await runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", join(mnt, "store")]);
    expectRefusal(r, 1, /^ctmd: .*\/ro\/store\b.*read-only file system/i);
  });

  it("a data directory that is a file: exit 1", async () => {
    const file = join(scratch, "a-file");
    await run("touch", [file]);
    const r = await runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", file]);
    expectRefusal(r, 1, /^ctmd: cannot use \S+a-file: exists and is not a directory/);
  });
});
