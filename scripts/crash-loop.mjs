// `npm run crash -- 100`: the crash loop of test/integrity/crash-loop.test.ts with that many kills.
import { spawnSync } from "node:child_process";

const runs = process.argv[2] ?? "100";
if (!/^\d+$/.test(runs)) {
  process.stderr.write("usage: npm run crash -- <runs>\n");
  process.exit(2);
}
const r = spawnSync("npx", ["vitest", "run", "test/integrity/crash-loop.test.ts"], { stdio: "inherit", env: { ...process.env, CTM_CRASH_RUNS: runs } });
process.exit(r.status ?? 1);
