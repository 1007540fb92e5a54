import type { Entry, Json } from "./api-types.js";

/** A time as "2026-01-31 14:05:09 UTC": one zone for every reader of an audit trail. */
export function formatTime(ts: string | undefined): string {
  if (ts === undefined) return "";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "RECORD_KIND_ROLLOUT_PAUSED" → "rollout paused". */
export const kindLabel = (kind: string | undefined): string => (kind ?? "RECORD_KIND_SET").replace(/^RECORD_KIND_/, "").toLowerCase().replace(/_/g, " ");

/** "REASON_OUT_OF_ROLLOUT" → "out of rollout"; "VERDICT_FAILING" → "failing". */
export const enumLabel = (v: string | undefined): string => (v ?? "").replace(/^[A-Z]+_/, "").toLowerCase().replace(/_/g, " ");

/** A value on one line, cut at `max` characters, for tables. */
export function compactJson(value: Json | undefined, max = 80): string {
  const text = value === undefined ? "" : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The value of an entry as a reader needs it: tombstones and compacted values say so. */
export function valueText(e: Entry): string {
  if (e.deleted) return "(deleted)";
  if (e.valueCompacted) return "(value compacted)";
  return JSON.stringify(e.value ?? null, null, 2);
}

/** Who wrote a record: the author the client gave, and the principal ctmd authenticated when it differs. */
export function whoText(e: { author?: string; principal?: string }): string {
  const author = e.author || "anonymous";
  return e.principal && e.principal !== author ? `${author} (${e.principal})` : author;
}

export const pct = (n: number): string => `${Number(n.toFixed(2))}%`;

/**
 * The console's address of a key's page. The key's own slashes stay readable, unless a segment
 * is empty, "." or "..", which URLs would fold away: then the key is one escaped segment.
 */
export function keyHref(key: string): string {
  const segments = key.split("/");
  const plain = segments.every((p) => p !== "" && p !== "." && p !== "..");
  return `/ui/key/${plain ? segments.map(encodeURIComponent).join("/") : encodeURIComponent(key)}`;
}
