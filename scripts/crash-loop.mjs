// `npm run crash -- 100`: the crash loops of test/integrity/ (kill -9 under 64 writers, and kill -9
// at random points of a compaction) with that many kills each.
import { spawnSync } from "node:child_process";

const runs = process.argv[2] ?? "100";
if (!/^\d+$/.test(runs)) {
  process.stderr.write("usage: npm run crash -- <runs>\n");
  process.exit(2);
}
const r = spawnSync("npx", ["vitest", "run", "test/integrity/crash-loop.test.ts", "test/integrity/compaction-crash.test.ts"], {
  stdio: "inherit",
  env: { ...process.env, CTM_CRASH_RUNS: runs, CTM_COMPACTION_CRASH_RUNS: runs },
});
process.exit(r.status ?? 1);
