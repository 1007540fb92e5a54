import { CtmError, notFound } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, KeyHead } from "@ctm/core/record";
import type { Rollout } from "@ctm/core/rollout/plan";
import type { WriteView } from "../storage/log-store.js";

/** One operation of an atomic batch, already validated. */
export type WriteOp =
  | { type: "set"; key: string; value: JsonValue; expectedVersion?: number; rollout?: Rollout }
  | { type: "delete"; key: string; expectedVersion?: number };

export interface Actor {
  author: string;
  message: string;
  cause: string;
  /** Who was authenticated (absent with auth off). */
  principal?: string;
  /** The caller asked to break the glass (ProtectedStore decides whether that is needed, and marks the record). */
  breakGlass?: boolean;
  /** The approved change request whose batch this is. */
  changeRequest?: string;
}

/** The version a client compares against: a deleted or unknown key is at 0. */
export const liveVersion = (h: KeyHead | undefined): number => (h && !h.deleted ? h.version : 0);

/** Compare-and-set: throws ABORTED-class `conflict` unless the live version is `expected`. */
export function checkExpected(head: KeyHead | undefined, key: string, expected: number | undefined, fieldPrefix = ""): number {
  const current = liveVersion(head);
  if (expected !== undefined && expected !== current) {
    throw new CtmError(
      "conflict",
      `${fieldPrefix}expected_version ${expected} does not match the current version ${current} of "${key}"`,
      `${fieldPrefix}expected_version`,
      { expected, actual: current },
    );
  }
  return current;
}

/**
 * Turns operations into drafts against the writer's view, checking each
 * expected_version and that deleted keys exist. Later operations see earlier
 * ones of the same batch. Throws before anything is written.
 */
export function planWrites(view: WriteView, ops: readonly WriteOp[], actor: Actor, fieldOf: (i: number) => string): Draft[] {
  const local = new Map<string, KeyHead>();
  const headOf = (k: string): KeyHead | undefined => local.get(k) ?? view.head(k);
  return ops.map((op, i) => {
    const head = headOf(op.key);
    const current = checkExpected(head, op.key, op.expectedVersion, fieldOf(i));
    if (op.type === "delete" && current === 0) throw notFound(`key "${op.key}" does not exist`);
    const version = (head?.version ?? 0) + 1;
    local.set(op.key, { version, revision: 0, deleted: op.type === "delete" });
    return op.type === "set"
      ? { key: op.key, value: op.value, rollout: op.rollout, deleted: false, kind: "set", ...actor }
      : { key: op.key, deleted: true, kind: "delete", ...actor };
  });
}
