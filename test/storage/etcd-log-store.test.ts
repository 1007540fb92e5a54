import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Clock } from "../../src/domain/clock.js";
import { describeCompaction } from "../../src/storage/compaction.conformance.js";
import { describeLogStore } from "../../src/storage/log-store.conformance.js";
import { EtcdLogStore, type EtcdLogStoreOptions } from "../../src/storage/etcd/etcd-log-store.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";

// One real 3-member cluster for the file; every test gets its own store under a fresh prefix.
let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const etcdStore = (opts: Partial<EtcdLogStoreOptions> = {}) => async (clock: Clock) => {
  // Compaction archives what leaves into the directory of the replica that runs it.
  const archiveDir = await mkdtemp(join(tmpdir(), "ctm-etcd-archive-"));
  const options: EtcdLogStoreOptions = { connection: { endpoints: cluster.endpoints }, prefix: `/ctm-test/${randomUUID()}/`, archiveDir, ...opts };
  let store = new EtcdLogStore(clock, options);
  await store.open();
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new EtcdLogStore(clock, options);
      await store.open();
      return store;
    },
    cleanup: async () => {
      await store.close();
      await store.destroy();
      await rm(archiveDir, { recursive: true, force: true });
    },
  };
};

describeLogStore("EtcdLogStore", etcdStore());
describeCompaction("EtcdLogStore", etcdStore());
