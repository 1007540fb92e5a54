/** etcd's --max-txn-ops by default. */
export const DEFAULT_TXN_OPS = 128;
const DEFAULT_TXN_BYTES = 1_400_000;

/** What one transaction of the etcd store may hold. */
export interface TxnLimits {
  /** One below etcd's --max-txn-ops: a commit or an index transaction puts meta/head or meta/indexed besides. */
  readonly maxOps: number;
  /** Bytes of keys and values, below etcd's --max-request-bytes. */
  readonly maxBytes: number;
}

export const txnLimits = (o: { readonly maxTxnOps?: number; readonly maxTxnBytes?: number }): TxnLimits => ({
  maxOps: (o.maxTxnOps ?? DEFAULT_TXN_OPS) - 1,
  maxBytes: o.maxTxnBytes ?? DEFAULT_TXN_BYTES,
});
