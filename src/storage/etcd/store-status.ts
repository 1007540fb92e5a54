import type { CtmError } from "../../domain/errors.js";

/**
 * Whether the etcd store serves, as every part of it sees it: open between open() and close(),
 * and `failure` once a fault it cannot get past stops it (the first one stays).
 */
export class StoreStatus {
  open = false;
  failure: CtmError | undefined;
}
