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
