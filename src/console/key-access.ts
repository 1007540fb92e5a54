import type { ApiClient } from "./api-client.js";
import type { CheckAccessResponse } from "./api-types.js";

/** What the signed-in token may do on one key: which of the key page's actions to offer. */
export interface KeyAccess {
  /** Roll back (ConfigService/Rollback needs `write` on the key). */
  write: boolean;
  /** Pause, resume, promote, finish, abort, kill (RolloutService's controls need `rollout`). */
  rollout: boolean;
}

/** Everything offered: ctmd decides each call anyway, and the dialog shows a refusal. */
const ALL: KeyAccess = { write: true, rollout: true };

/**
 * Asks ctmd (AuthService/CheckAccess) rather than matching WhoAmI's grants here: its key globs
 * are its own (RE2, `**` spanning none or many segments, keys under `_ctm/` needing admin), and
 * a copy in the browser could drift from the code that decides. A grant limited to some
 * environments counts, so a Rollback (its value is served everywhere), Promote or Resume
 * offered may still be refused.
 */
export async function keyAccess(api: ApiClient, key: string): Promise<KeyAccess> {
  try {
    const r = await api.call<CheckAccessResponse>("AuthService/CheckAccess", {
      accesses: [
        { verb: "VERB_WRITE", key },
        { verb: "VERB_ROLLOUT", key },
      ],
    });
    const [write = false, rollout = false] = r.allowed ?? [];
    return { write, rollout };
  } catch {
    // Unanswered (ctmd unreachable, say): offer the actions and let each call be decided.
    return ALL;
  }
}
