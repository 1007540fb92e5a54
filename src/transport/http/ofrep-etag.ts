import { createHash } from "node:crypto";

/** Bumped when the bulk answer's shape changes, so no tag of the old shape matches. */
const FORMAT = "ofrep-bulk/1";
/** Tags looked at in one If-None-Match: each costs a hash. */
const MAX_TAGS = 8;

/** What a bulk answer depends on besides time: the revision read, who asks, the scope and the request body. */
export interface BulkInputs {
  revision: number;
  principal: string;
  prefix: string;
  body: Buffer;
}

/**
 * The ETag of a bulk evaluation: `"<revision>.<until>.<hash>"`, the hash over every input and
 * `until` (base 36 ms; 0: no time limit), the moment from which the answer may differ at the
 * same revision (see changesAt). Checking one costs a hash, no evaluation.
 */
export function bulkTag(inputs: BulkInputs, until: number): string {
  const u = Number.isFinite(until) ? Math.max(1, Math.floor(until)).toString(36) : "0";
  return `"${inputs.revision}.${u}.${digest(inputs, u)}"`;
}

/** Whether `ifNoneMatch` holds a tag of this very answer that is still valid at `now`. */
export function matchesTag(ifNoneMatch: string, inputs: BulkInputs, now: number): string | undefined {
  const tags = ifNoneMatch.split(",", MAX_TAGS);
  for (const raw of tags) {
    const m = /^\s*(?:W\/)?"(\d{1,16})\.([0-9a-z]{1,12})\.([\w-]{22})"\s*$/.exec(raw);
    if (!m || Number(m[1]) !== inputs.revision) continue;
    const u = m[2]!;
    if (u !== "0" && now >= parseInt(u, 36)) continue;
    if (digest(inputs, u) === m[3]) return `"${m[1]}.${u}.${m[3]}"`;
  }
  return undefined;
}

function digest(i: BulkInputs, until: string): string {
  return createHash("sha256").update(`${FORMAT}\0${i.revision}\0${until}\0${i.principal}\0${i.prefix}\0`).update(i.body).digest("base64url").slice(0, 22);
}
