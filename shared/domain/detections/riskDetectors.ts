import { z } from "zod";
import { contentHash } from "../contentHash.js";
import type { Detection, Severity } from "../finding.js";
import { AggregationBook, BookSnapshotSchema, CursorSnapshotSchema, StreamCursor, configDigestInput, listOf, utcRange, type Aggregation } from "./aggregation.js";
import type { RiskRecord } from "./riskRecord.js";
import type { DetectionThresholds } from "./thresholds.js";

/**
 * The risk-detection rule: Identity Protection's own detections at a level in `riskDetectionLevels` (medium and high
 * by default) and not in a state an admin has judged (`riskDetectionIgnoredStates`), one detection per user.
 * Severity: high when one of them is at level high or in state confirmedCompromised, medium otherwise.
 *
 * The stream is ordered by `detectedDateTime` (what the review reads by: offline detections arrive hours after the
 * activity); firstSeen and lastSeen are the activity times.
 *
 * With the blind `window` the detections are read for, a detection made after the window's end counts only when the
 * activity it flags happened inside the window: a review reads two days past the end for offline detections of the
 * window's activity, and the other detections made then flag hours whose logs were not lost. A detection made inside
 * the window counts whatever its activity time (it is itself a record the window lost).
 */

/** A blind window's bounds in epoch milliseconds; `to` is null while the window is open. */
export interface RiskWindow {
  from: number;
  to: number | null;
}

const MINUTE_MS = 60_000;

const RiskSnapshotSchema = z.strictObject({
  kind: z.literal("risk-detectors"),
  version: z.literal(1),
  config: z.string(),
  observed: z.number().int().min(0),
  cursor: CursorSnapshotSchema,
  finished: z.boolean(),
  book: BookSnapshotSchema,
});
type RiskSnapshot = z.infer<typeof RiskSnapshotSchema>;

export class RiskDetectors {
  private readonly config: string;
  private readonly levels: ReadonlySet<string>;
  private readonly ignoredStates: ReadonlySet<string>;
  private readonly cursor = new StreamCursor();
  private readonly book: AggregationBook;
  private observedCount = 0;
  private finished = false;

  constructor(
    thresholds: DetectionThresholds,
    private readonly window?: RiskWindow,
  ) {
    this.config = contentHash(configDigestInput("risk", thresholds), 16);
    this.levels = new Set(thresholds.riskDetectionLevels.map((l) => l.toLowerCase()));
    this.ignoredStates = new Set(thresholds.riskDetectionIgnoredStates.map((s) => s.toLowerCase()));
    this.book = new AggregationBook(thresholds.mergeGapMinutes * MINUTE_MS, (a) => this.render(a));
  }

  /** Records observed so far. */
  get observed(): number {
    return this.observedCount;
  }

  /** Risk detections in ascending (t = detectedDateTime, id) order. Out-of-order input throws a RangeError. */
  observe(record: RiskRecord): void {
    if (this.finished) throw new Error("the risk detectors are finished: restore a snapshot taken before finish() to go on");
    if (!this.cursor.accept(record.t, record.id)) return;
    this.observedCount++;
    this.book.advance(record.t);
    if (!this.belongs(record)) return;
    const level = record.riskLevel.toLowerCase();
    if (!this.levels.has(level) || this.ignoredStates.has(record.riskState.toLowerCase())) return;
    const subject = record.userPrincipalName ? { kind: "user" as const, id: record.userId, name: record.userPrincipalName } : { kind: "user" as const, id: record.userId };
    const aggregation = this.book.hit("risk-detection", subject, record.t, record.activityT, record.activityT);
    aggregation.addRecord(record.id);
    aggregation.addIp(record.ipAddress);
    aggregation.tag("findings", `${record.riskEventType || "unknown"} (${record.riskLevel}, ${record.riskState || "no state"})`);
    aggregation.tag("countries", record.countryOrRegion);
    if (level === "high" || record.riskState.toLowerCase() === "confirmedcompromised") aggregation.add("severe", 1);
  }

  /** Detections that can no longer change, completed since the last drain. */
  drain(): Detection[] {
    if (Number.isFinite(this.cursor.t)) this.book.advance(this.cursor.t);
    return this.book.take();
  }

  /** Ends the stream: closes every open aggregation and returns the remaining detections. */
  finish(): Detection[] {
    this.finished = true;
    this.book.closeAll();
    return this.book.take();
  }

  /** Whether a detection is the window's: made inside it, or made after its end for activity inside it. */
  private belongs(record: RiskRecord): boolean {
    const to = this.window?.to ?? null;
    if (this.window === undefined || to === null || record.t < to) return true;
    return record.activityT >= this.window.from && record.activityT < to;
  }

  private render(a: Aggregation): { severity: Severity; explanation: string } {
    const who = a.subject.name ?? a.subject.id;
    const countries = a.values("countries");
    const from = a.ips.length > 0 ? ` from ${listOf(a.ips, 3)}${countries.length > 0 ? ` (${listOf(countries)})` : ""}` : "";
    return {
      severity: a.num("severe") > 0 ? "high" : "medium",
      explanation: `Identity Protection flagged ${who} ${a.count === 1 ? "once" : `${a.count} times`}: ${listOf(a.values("findings"), 4, a.size("findings"))}${from}, activity ${utcRange(a.firstT, a.lastT)}.`,
    };
  }

  /** JSON-safe state (plain data) to persist in a checkpoint. */
  snapshot(): unknown {
    const snapshot: RiskSnapshot = {
      kind: "risk-detectors",
      version: 1,
      config: this.config,
      observed: this.observedCount,
      cursor: this.cursor.snapshot(),
      finished: this.finished,
      book: this.book.snapshot(),
    };
    return snapshot;
  }

  /**
   * Detectors that carry on from `snapshot` (zod-validated; throws on a bad snapshot or one taken under other
   * thresholds). The window is not part of the snapshot: a review whose window's end moved starts again.
   */
  static restore(snapshot: unknown, thresholds: DetectionThresholds, window?: RiskWindow): RiskDetectors {
    const s = RiskSnapshotSchema.parse(snapshot);
    const detectors = new RiskDetectors(thresholds, window);
    if (s.config !== detectors.config) throw new Error("the snapshot was taken under other thresholds");
    detectors.observedCount = s.observed;
    detectors.cursor.restore(s.cursor);
    detectors.finished = s.finished;
    detectors.book.restore(s.book);
    return detectors;
  }
}
