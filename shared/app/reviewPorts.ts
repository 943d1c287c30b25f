import type { ControlType } from "./ledgerPorts.js";
import type { Finding } from "../domain/finding.js";
import type { LogSourceId } from "../domain/logSource.js";

/**
 * What a compensating control did, as the Controls table keeps it and tasks, reports and the API show it
 * (DESIGN.md "control"). Written by the control runner; read by tasks, reports and the CLI.
 */
export const CONTROL_STATES = ["planned", "running", "done", "failed", "superseded"] as const;
export type ControlState = (typeof CONTROL_STATES)[number];

export interface ControlSummary {
  tenantId: string;
  windowId: string;
  source: LogSourceId;
  control: ControlType;
  state: ControlState;
  /** The window as the control knows it (ISO; end null while the incident is open). */
  windowStart: string;
  windowEnd: string | null;
  reviewDeadline: string;
  startedAt?: string;
  finishedAt?: string;
  /** Records read per Graph stream (`signIns:v1.0`, `signIns:beta`, `directoryAudits`, `riskDetections`). */
  recordsRead: Record<string, number>;
  pages: number;
  /** Times Graph answered 429 and the run waited. */
  throttledWaits: number;
  /** Time spent running, summed over invocations. */
  durationMs: number;
  /** Hours of the window actually reviewed, and the part already gone from Entra's retention when the run began. */
  coverage: {
    reviewedFrom: string | null;
    reviewedTo: string | null;
    /** Window hours that had left retention before they could be read (evidence lost for good); null when none. */
    lostFrom: string | null;
    lostTo: string | null;
  };
  findings: number;
  /**
   * Records read per UTC hour of the window (`2024-09-02T23` → count), every stream together: the coverage a report
   * charts. Hours with no key were not read (lost or not reached yet); a key with 0 was read and empty.
   */
  hourly?: Record<string, number>;
  /** Where preserved evidence went (preserve only). */
  evidence?: { manifestPath: string; blobs: number; records: number };
  /** Why the control failed (failed only): a one-line reason, never a secret. */
  error?: string;
}

/** Read side of the Controls table. */
export interface ControlStore {
  listControls(tenantId: string, windowId?: string): AsyncIterable<ControlSummary>;
}

/** The Findings table (PK tenant~window, RK finding id). Writes are upserts: the same finding id writes the same row. */
export interface FindingStore {
  putFindings(findings: readonly Finding[]): Promise<void>;
  listFindings(tenantId: string, windowId?: string): AsyncIterable<Finding>;
}

/** A Controls row as the control runner sees it: the summary plus lease, urgency and checkpoint. */
export interface ControlRow extends ControlSummary {
  /** When the next unreviewed hour leaves retention (ISO): the most urgent row is claimed first. */
  urgency: string;
  leaseOwner?: string;
  leaseUntil?: string;
  /** The runner's resumable state (JSON), absent before the first checkpoint. */
  checkpoint?: unknown;
  /**
   * The detectors' state (JSON), kept apart from the checkpoint because it is the large part and changes only when
   * a slice is consumed, not with every page. Loaded by `get` and `claim` (rows from `listUnfinished` may lack it).
   */
  detector?: unknown;
  /** Opaque reference to the stored detector state (its content hash): a save of the same state writes nothing. */
  detectorRef?: string;
  /** Opaque concurrency token: every write below is conditional on it. */
  etag: string;
}

/** The summary part of a row (what the API, tasks and reports see), without lease, urgency, checkpoint and ETag. */
export function controlSummary(row: ControlRow): ControlSummary {
  const { urgency: _u, leaseOwner: _o, leaseUntil: _l, checkpoint: _c, detector: _d, detectorRef: _r, etag: _e, ...summary } = row;
  return summary;
}

/** A row a worker may claim now: planned, or running under a lease that has expired (its worker died or handed on). */
export function isClaimable(row: Pick<ControlRow, "state" | "leaseUntil">, nowIso: string): boolean {
  return row.state === "planned" || (row.state === "running" && (!row.leaseUntil || row.leaseUntil < nowIso));
}

/** The Controls table for the control runner: claim with a lease, checkpoint under the lease, finish. */
export interface ControlRunStore extends ControlStore {
  get(tenantId: string, windowId: string, control: ControlType): Promise<ControlRow | undefined>;
  /** Rows not finished yet (planned, or running — possibly under an expired lease). */
  listUnfinished(): AsyncIterable<ControlRow>;
  /**
   * Takes the row for `owner` until `leaseUntil` if it is unchanged since it was read and not leased by someone
   * else; the claimed row, or undefined when another worker won.
   */
  claim(row: ControlRow, owner: string, leaseUntil: Date, at: Date): Promise<ControlRow | undefined>;
  /**
   * Writes progress (summary, checkpoint, detector state, urgency; a new lease end while running) if the row is
   * still as this worker last wrote it. Undefined when the lease was lost (another worker took over): the caller
   * stops. The detector state is written only when its content changed; one too large for the row goes to Blob.
   * A save that marks the row done is refused too (undefined, the lease kept) when the planner moved the window's
   * bounds on the row since `row` was read: the caller reads the row again to tell the two apart.
   * `waiting`: the lease is kept only to wait until `leaseUntil` (for Graph to settle a window's last records, or for
   * an open window's next hours); the planner ends the wait when it moves the window's bounds. Refused like done
   * when the bounds moved since `row` was read.
   */
  save(row: ControlRow, update: { summary: ControlSummary; checkpoint?: unknown; detector?: unknown; urgency: string; leaseUntil?: Date; waiting?: boolean }): Promise<ControlRow | undefined>;
}
