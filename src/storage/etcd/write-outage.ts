import { status as grpcStatus } from "@grpc/grpc-js";
import type { EtcdClient } from "./etcd-client.js";
import type { EtcdLayout } from "./etcd-layout.js";
import { errorText } from "./error-text.js";
import type { StoreStatus } from "./store-status.js";

/** How often a replica checks that etcd's quorum answers, ms. */
const PROBE_MS = 1000;

/**
 * Why writes are refused now, if they are: set when a commit cannot reach etcd, cleared when
 * one lands, and checked every PROBE_MS by a read that needs etcd's quorum.
 */
export class WriteOutage {
  reason: string | undefined;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: () => EtcdClient,
    private readonly layout: EtcdLayout,
    private readonly status: StoreStatus,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.probeQuorum(), PROBE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * A linearizable read needs etcd's quorum as a write does: how a replica knows, without
   * writing, whether writes can be made (writeOutage, the health of writes).
   */
  private probeQuorum(): void {
    if (this.probing || !this.status.open) return;
    this.probing = true;
    this.client()
      .range({ key: this.layout.head, keysOnly: true })
      .then(
        () => (this.reason = undefined),
        (e: unknown) => (this.reason = `etcd did not answer a read that needs its quorum (${errorText(e)}): writes are refused, reads are served from memory`),
      )
      .finally(() => (this.probing = false));
  }
}

/** Why writes stop: etcd refusing ctmd's credentials is not a lost quorum, and says what to fix. */
export function outageText(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (code === grpcStatus.UNAUTHENTICATED || code === grpcStatus.PERMISSION_DENIED) {
    return `etcd refused ctmd's credentials (${errorText(e)}): writes are refused until it accepts them, reads are served from memory`;
  }
  return `etcd did not answer (${errorText(e)}): it may have lost its quorum or be out of reach; writes are refused until it answers, reads are served from memory`;
}
