import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ManualClock } from "../../src/domain/clock.js";
import { ConfigService } from "../../src/service/config-service.js";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";
import { WatchHub } from "../../src/watch/watch-hub.js";

export const T0 = Date.UTC(2024, 0, 1);

export interface TempStore {
  dir: string;
  clock: ManualClock;
  store: LevelLogStore;
  hub: WatchHub;
  config: ConfigService;
  /** Closes the hub and the store and removes the directory. */
  dispose(): Promise<void>;
}

/** A real LevelDB store in a fresh temporary directory, with a watch hub and a ConfigService over it. */
export async function tempStore(name: string): Promise<TempStore> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ctm-${name}-`));
  const clock = new ManualClock(T0);
  const store = new LevelLogStore(dir, clock);
  await store.open();
  const hub = new WatchHub(store);
  const config = new ConfigService(store, hub, clock);
  return {
    dir,
    clock,
    store,
    hub,
    config,
    dispose: async () => {
      hub.close();
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
