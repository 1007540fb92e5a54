/** The outcome of checking the log's hash chain and indexes. */
export interface VerifyReport {
  readonly ok: boolean;
  /** "tail": the records written since the last clean shutdown; "full": the whole log. */
  readonly scope: "tail" | "full";
  /** Revisions checked: [from, to]. */
  readonly from: number;
  readonly to: number;
  readonly recordsChecked: number;
  /** The first revision that is missing, damaged or disagrees with an index. */
  readonly firstBadRevision?: number;
  /** One line: what is wrong at firstBadRevision (or with the store as a whole). */
  readonly reason?: string;
  /** SHA-256 (hex) of the last record that checked out: the tip of the verified chain. */
  readonly headHash: string;
  /** Unix ms when the check finished. */
  readonly finishedAt: number;
  readonly durationMs: number;
}
