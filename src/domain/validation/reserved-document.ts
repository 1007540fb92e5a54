import { ROLE_PREFIX, TOKEN_PREFIX } from "../auth/role.js";
import { HOLD_PREFIX, RETENTION_PREFIX } from "../retention/retention-policy.js";
import { POLICY_PREFIX } from "../change/protection-policy.js";
import { invalidArgument } from "../errors.js";
import { HEALTH_CHECK_PREFIX, NAME_PATTERN, RESERVED_PREFIX, VALIDATOR_PREFIX } from "./validator.js";

/**
 * The documents that live under `_ctm/`, each checked against its schema on
 * every write path (validator-document.ts, health/health-check-document.ts).
 * A key under `_ctm/` that is none of them is refused: nothing reads it, and
 * a later kind of document must not find one it never checked. A new kind of
 * document adds its prefix here and its check to the service that owns it.
 */
export const RESERVED_KINDS = [VALIDATOR_PREFIX, HEALTH_CHECK_PREFIX, ROLE_PREFIX, TOKEN_PREFIX, RETENTION_PREFIX, HOLD_PREFIX, POLICY_PREFIX] as const;

/**
 * Checks that a write to reserved `key` names a known kind and a valid name,
 * and carries no rollout (a definition takes effect when written; a rollout's
 * candidates would never be checked). `field` prefixes error fields
 * (e.g. "operations[2].set."). Returns the document's name.
 */
export function checkReservedWrite(key: string, hasRollout: boolean, field: string): string {
  const kind = RESERVED_KINDS.find((p) => key.startsWith(p));
  if (kind === undefined) {
    throw invalidArgument(`${field}key`, `is reserved: under ${RESERVED_PREFIX} only ${RESERVED_KINDS.map((p) => `${p}<name>`).join(", ")} may be written`);
  }
  const name = key.slice(kind.length);
  if (!NAME_PATTERN.test(name)) throw invalidArgument(`${field}key`, `must end in a name of 1-128 letters, digits, . _ or -, starting with a letter or digit, after ${kind}`);
  if (hasRollout) throw invalidArgument(`${field}rollout`, `is not allowed on ${RESERVED_PREFIX} documents: a definition takes effect when it is written`);
  return name;
}
