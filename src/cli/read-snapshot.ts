import type { DeepPartial, SnapshotRequest, SnapshotResponse } from "../gen/ctm/v1/config_service.js";

/**
 * A whole Snapshot listing: every page, all at the first page's revision. `onPage` hears the
 * running count, for progress on a large prefix.
 */
export async function readSnapshot(
  snapshot: (r: DeepPartial<SnapshotRequest>) => Promise<SnapshotResponse>,
  prefix: string,
  at: DeepPartial<SnapshotRequest>["at"],
  onPage?: (entries: number) => void,
): Promise<SnapshotResponse> {
  let page = await snapshot({ prefix, at });
  const entries = [...page.entries];
  while (page.nextPageToken !== "") {
    onPage?.(entries.length);
    page = await snapshot({ prefix, pageToken: page.nextPageToken });
    entries.push(...page.entries);
  }
  return { ...page, entries, nextPageToken: "" };
}
