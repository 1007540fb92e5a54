import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ETCD_BIN } from "./helpers/etcd-cluster.js";
import { Prometheus, PROMETHEUS_TMP_PREFIX } from "./helpers/prometheus.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");

/** stdout of a command that may fail (a missing unit, no match): failing is an answer here. */
async function output(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args)).stdout;
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? "");
  }
}

const list = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

// The packages the tests install (scripts/test-deps.sh) ship system services; the tests
// only want the binaries. Run as root on a machine where the install happened, this
// checks that the install left nothing enabled or running.
describe("test setup leaves no system service behind", () => {
  it("scripts/test-deps.sh installs Prometheus, and no prometheus service is enabled", async () => {
    await run("bash", [resolve(ROOT, "scripts/test-deps.sh")], { timeout: 600_000 });
    expect(Prometheus.available()).toBe(true);
    expect((await output("systemctl", ["is-enabled", "prometheus"])).trim()).not.toMatch(/^enabled/);
    const wants = (await list("/etc/systemd/system")).filter((d) => d.endsWith(".wants"));
    const links: string[] = [];
    for (const w of wants) links.push(...(await list(`/etc/systemd/system/${w}`)).filter((f) => f.startsWith("prometheus")).map((f) => `${w}/${f}`));
    for (const rc of ["rc2.d", "rc3.d", "rc4.d", "rc5.d"]) links.push(...(await list(`/etc/${rc}`)).filter((f) => /^S\d\dprometheus/.test(f)).map((f) => `${rc}/${f}`));
    expect(links).toEqual([]);
  }, 660_000);

  it("no prometheus process runs except those the tests started (their data under a ctm-prometheus- directory)", async () => {
    const procs = (await output("pgrep", ["-a", "-x", "prometheus"])).split("\n").filter(Boolean);
    expect(procs.filter((p) => !p.includes(PROMETHEUS_TMP_PREFIX))).toEqual([]);
  });

  it("installs etcd-server for the etcd store's tests, with no etcd service enabled or running but the clusters the tests started", async () => {
    await run("bash", [resolve(ROOT, "scripts/test-deps.sh")], { timeout: 600_000 });
    await run(ETCD_BIN, ["--version"]);
    expect((await output("systemctl", ["is-enabled", "etcd"])).trim()).not.toMatch(/^enabled/);
    const links: string[] = [];
    for (const w of (await list("/etc/systemd/system")).filter((d) => d.endsWith(".wants"))) links.push(...(await list(`/etc/systemd/system/${w}`)).filter((f) => f.startsWith("etcd")));
    for (const rc of ["rc2.d", "rc3.d", "rc4.d", "rc5.d"]) links.push(...(await list(`/etc/${rc}`)).filter((f) => /^S\d\detcd/.test(f)));
    expect(links).toEqual([]);
    // Test clusters keep their data under a ctm-etcd- directory.
    const procs = (await output("pgrep", ["-a", "-x", "etcd"])).split("\n").filter(Boolean);
    expect(procs.filter((p) => !p.includes("ctm-etcd-"))).toEqual([]);
  }, 660_000);
});
