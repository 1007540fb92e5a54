// `npm run fuzz -- [count] [seed]`: the fuzz test at any size, with a report. Exits 1 on a violation.
import { runFuzz } from "./fuzz-run.js";

const count = Number(process.argv[2] ?? process.env.FUZZ_COUNT ?? 20_000);
const seed = Number(process.argv[3] ?? process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
process.stdout.write(`fuzzing ctmd with ${count} requests, seed ${seed}\n`);
const report = await runFuzz({
  count,
  seed,
  progress: (n) => {
    if (n % Number(process.env.FUZZ_PROGRESS ?? 1000) === 0) process.stdout.write(`  ${n} requests\n`);
  },
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.violations.length === 0 ? 0 : 1;
