import { execFile } from "node:child_process";
import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/**
 * Modules as the daemon runs them: `entries` (paths from the repository root) compiled to .js
 * with the project's own tsc into a temp dir (never into the tree), so their workers start
 * under plain node with no loader. A node_modules link there lets the output import its
 * dependencies. The output is under `<dir>/out`, laid out as src/; the caller removes `dir`.
 */
export async function buildJs(entries: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-build-"));
  await writeFile(join(dir, "package.json"), '{"type":"module"}');
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  const args = ["--ignoreConfig", "--noCheck", "--skipLibCheck", "--outDir", join(dir, "out"), "--rootDir", join(ROOT, "src")];
  args.push("--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node");
  await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), ...args, ...entries.map((e) => join(ROOT, e))], { cwd: ROOT });
  return dir;
}
