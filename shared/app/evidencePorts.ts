import { AppError } from "../errors.js";
import type { EvidenceManifest } from "../domain/evidencePath.js";

/**
 * Evidence that outlives Entra retention (DESIGN.md "control": `preserve`): the raw records of a window, as gzip
 * JSON lines, one immutable blob per tenant, source and day (per reviewed range of that day; paths from
 * ../domain/evidencePath.ts), and one manifest per reviewed range.
 *
 * Exactly once, however often the worker is killed (the protocol the control runner follows):
 * 1. Each Graph page is staged with `stageBlock(path, evidenceBlockId({ sliceStart, stream, page }), lines)` for
 *    the day blob(s) its records belong to, then the runner checkpoints. Block ids come from content, not arrival:
 *    after a crash the runner re-reads the pages after its checkpoint and stages them again under the same ids,
 *    which overwrites the uncommitted blocks instead of adding copies. Blocks staged before the checkpoint stay.
 * 2. When a day is complete, `commitBlob(path, ids)` with the ids recomputed from the checkpoint, in page order.
 *    The commit is one atomic Put Block List with If-None-Match: *: the blob appears whole or not at all, and only
 *    once. A commit repeated after a crash finds the blob with the same block list and answers `created: false`.
 * 3. After every blob of the range is committed, `writeManifest` (write-once; the same content again is accepted).
 *
 * Limits: uncommitted blocks are discarded by Azure one week after the last Put Block on the blob, so a commit that
 * comes later fails with `EvidenceBlocksMissingError` and the runner must stage the day again from its first page.
 * A blob holds at most 50,000 committed blocks (pages) and 100,000 uncommitted ones.
 */
export interface EvidenceStore {
  /**
   * Stages one page of records (JSON text lines, no line breaks inside, none empty) as an uncommitted block of
   * `blobPath` under `blockId`, as one gzip member. Idempotent: the same id overwrites the same uncommitted block.
   * If the blob is already committed with this block (a retry after the commit; an immutability policy refuses new
   * blocks on it), nothing is written and the committed block's size is returned.
   * @returns the number of lines and the size of the gzip member.
   */
  stageBlock(blobPath: string, blockId: string, lines: readonly string[]): Promise<{ records: number; bytes: number }>;

  /**
   * Commits `blockIds` (in order, no repeats) as the blob, only if it does not exist yet (If-None-Match: *), with
   * metadata (names are C# identifiers, values printable ASCII). If it exists with the same block list:
   * `created: false` (a retry after a crash); with another block list: `EvidenceConflictError`. Returns the SHA-256
   * (lower-case hex) and size of the committed bytes, computed by reading them back.
   */
  commitBlob(blobPath: string, blockIds: readonly string[], metadata: Record<string, string>): Promise<{ created: boolean; bytes: number; sha256: string }>;

  /**
   * Writes a manifest once (immutable). The same content again (ignoring `createdAt`) is fine and keeps the first
   * manifest (`created: false`); different content is an `EvidenceConflictError`.
   */
  writeManifest(manifestPath: string, manifest: EvidenceManifest): Promise<{ created: boolean }>;

  /** The manifest at `manifestPath`, or undefined when there is none. */
  readManifest(manifestPath: string): Promise<EvidenceManifest | undefined>;

  /** The JSON lines of a committed evidence blob, streamed (gunzips concatenated members). NotFoundError if none. */
  readLines(blobPath: string): AsyncIterable<string>;

  /** Committed blobs whose path starts with `prefix`, in name order. */
  list(prefix: string): AsyncIterable<{ path: string; bytes: number }>;
}

/**
 * An immutable evidence blob or manifest already exists with other content. Never retried: it means two runs
 * disagree about what a range contains (e.g. a control restarted with another slice start), which needs a person.
 */
export class EvidenceConflictError extends AppError {
  override readonly name = "EvidenceConflictError";
  constructor(readonly path: string, detail: string) {
    super("evidence-conflict", 409, `Evidence ${path} already exists with different content: ${detail}`, { retryable: false });
  }
}

/**
 * A commit names blocks that are not staged: they were never staged, or Azure discarded them (uncommitted blocks live
 * one week). The runner must stage the blob again from its first page; retrying the commit as is cannot succeed.
 */
export class EvidenceBlocksMissingError extends AppError {
  override readonly name = "EvidenceBlocksMissingError";
  constructor(readonly path: string) {
    super("evidence-blocks-missing", 409, `Evidence ${path} cannot be committed: some of its blocks are not staged`, { retryable: false });
  }
}
