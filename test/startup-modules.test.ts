import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "./cli/run-ctm.js";

const run = promisify(execFile);
const HOOKS = resolve(import.meta.dirname, "helpers/loaded-modules.mjs");
const dir = mkdtempSync(join(tmpdir(), "ctm-cli-modules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

/** The packages a `ctm` command line loads, by name. */
async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const file = join(dir, "loaded.txt");
  rmSync(file, { force: true });
  await run(process.execPath, ["--import", pathToFileURL(HOOKS).href, CLI, ...args], { env: { ...process.env, LOADED_MODULES_FILE: file } });
  return new Set(readFileSync(file, "utf8").split("\n").map(packageOf).filter((n): n is string => n !== undefined));
}

// Every command starts a process: what it loads before it parses its arguments is paid on each
// one. The schema checker, the regex engine, the CBOR codec and LevelDB load only in the
// commands that use them.
describe("what a ctm command loads at start", () => {
  const heavy = ["ajv", "re2js", "semver", "cbor-x", "classic-level", "level"];

  it("the help of every command: the gRPC client and commander, none of the heavy libraries", async () => {
    for (const args of [["--help"], ["set", "--help"], ["retention", "--help"], ["archive", "--help"]]) {
      const loaded = await packagesLoaded(args);
      expect(loaded, args.join(" ")).toContain("@grpc/grpc-js");
      expect(loaded, args.join(" ")).toContain("commander");
      for (const name of heavy) expect(loaded, `${args.join(" ")} loads ${name}`).not.toContain(name);
    }
  });

  it("a command that reads archives loads the CBOR codec when it runs", async () => {
    const loaded = await packagesLoaded(["archive", "ls", dir]);
    expect(loaded).toContain("cbor-x");
  });
});
