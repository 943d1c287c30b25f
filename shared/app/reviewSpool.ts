/**
 * Pages a review has read but not handed to the detectors yet (DESIGN.md "control"). Graph sends a slice newest
 * first and the detectors need it oldest first, so a slice's pages wait until the slice is read; spooled outside the
 * worker, they let the checkpoint after every page say "these pages are read" without holding them in the row, and
 * a killed or time-boxed run resumes at the next page instead of the start of its slice. Disposable: deleted once
 * their slice is checkpointed, and by a lifecycle rule (infra/app/storage.bicep) if a run never comes back.
 */
export interface ReviewSpool {
  /** Stores the records of one page under `path` (an overwrite stores the same page again). */
  putPage(path: string, records: readonly unknown[]): Promise<void>;
  /** The records stored under `path`, or undefined when there are none (deleted, or never written). */
  getPage(path: string): Promise<unknown[] | undefined>;
  /** Deletes every page whose path starts with `prefix`; how many were deleted. */
  removeUnder(prefix: string): Promise<number>;
}
