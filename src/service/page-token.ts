import { invalidArgument } from "../domain/errors.js";

/** History page tokens are opaque to clients: the revision to continue below. */
export const encodePageToken = (beforeRevision: number): string =>
  Buffer.from(`h1:${beforeRevision}`, "utf8").toString("base64url");

export function decodePageToken(token: string): number | undefined {
  if (token === "") return undefined;
  const m = /^h1:(\d{1,16})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  const rev = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(rev) || rev < 1) throw invalidArgument("page_token", "is not a token this server issued");
  return rev;
}

/** A Snapshot listing's place: the revision every page reads at, its prefix, and the last key looked at. */
export interface SnapshotCursor {
  revision: number;
  prefix: string;
  after: string;
}

/** Opaque to clients like History's: "s1:<revision>:<prefix length>:<prefix><last key>", base64url. */
export const encodeSnapshotToken = (c: SnapshotCursor): string =>
  Buffer.from(`s1:${c.revision}:${c.prefix.length}:${c.prefix}${c.after}`, "utf8").toString("base64url");

export function decodeSnapshotToken(token: string, prefix: string): SnapshotCursor | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const m = /^s1:(\d{1,16}):(\d{1,4}):/.exec(text);
  const revision = m ? Number(m[1]) : NaN;
  const prefixLength = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(revision) || revision < 0 || text.length < m[0].length + prefixLength) {
    throw invalidArgument("page_token", "is not a token this server issued");
  }
  const rest = text.slice(m[0].length);
  if (rest.slice(0, prefixLength) !== prefix) throw invalidArgument("page_token", "was issued for another prefix: send the same prefix with every page");
  return { revision, prefix, after: rest.slice(prefixLength) };
}
