// Child process of test/storage/unfinished-write.test.ts: opens the LevelDB store in argv[2] from
// the build, writing threaded batches in synced parts of PART records, and commits groups of
// GROUP records, one after another, printing the head each one reached, until it is killed.
import { LevelLogStore, LEVEL_STORE_DEFAULTS } from "../../dist/src/storage/level/level-log-store.js";
import { systemClock } from "../../dist/src/domain/clock.js";

const [dir, group, part] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const store = new LevelLogStore(dir, systemClock, { ...LEVEL_STORE_DEFAULTS, threadedBatch: 1, batchPart: part });
await store.open();
for (let g = 1; ; g++) {
  const records = await store.commit(() =>
    Array.from({ length: group }, (_, i) => ({ key: `k/${String(i).padStart(6, "0")}`, value: { g, pad: "x".repeat(100) }, deleted: false, author: "t", message: "", kind: "set", cause: "api" })),
  );
  process.stdout.write(`acked ${records.at(-1).revision} ${g}\n`);
}
