import { z } from "zod";
import { DetectionSchema, MAX_SAMPLE_IDS, RuleIdSchema, SEVERITIES, SubjectSchema, type Detection, type RuleId, type Severity, type Subject } from "../finding.js";

/**
 * The part every detector shares: hits of one rule on one subject gather in an open aggregation until the stream
 * has moved `gap` past its last hit; then it is rendered into a `Detection` and waits for `drain()`.
 *
 * Why the output does not depend on where drain() or snapshot()/restore() were called: an aggregation closes at
 * `closeAt = last hit + gap`, as soon as the stream passes that time (strictly: a record exactly at `closeAt` can
 * still extend it). A drain at stream time T returns every aggregation with closeAt < T; whatever stays open, and
 * whatever opens later, has closeAt ≥ T. So sorting each batch by (closeAt, rule, subject, firstSeen) makes the
 * concatenation of all batches equal to one batch sorted the same way, however the stream was cut.
 */

/** At most this many source IPs per detection (the first seen, in stream order). */
export const MAX_IPS = MAX_SAMPLE_IDS;
/** At most this many distinct values per descriptive tag (protocols, countries, roles, …). */
export const MAX_TAG_VALUES = 10;

export class Aggregation {
  /** Earliest and latest time the hits cover (epoch ms), for firstSeen / lastSeen. */
  firstT: number;
  lastT: number;
  /** Stream time (the order the records arrive in) of the last hit: closure is counted from it. */
  streamT: number;
  count = 0;
  readonly sampleIds: string[] = [];
  readonly ips: string[] = [];
  readonly tags = new Map<string, Set<string>>();
  readonly nums = new Map<string, number>();
  /** The last record counted, so a record shared by two successive hits (impossible travel A→B→C) counts once. */
  lastId = "";

  constructor(
    readonly rule: RuleId,
    readonly subject: Subject,
    firstT: number,
    lastT: number,
    streamT: number,
  ) {
    this.firstT = firstT;
    this.lastT = lastT;
    this.streamT = streamT;
  }

  touch(firstT: number, lastT: number, streamT: number): void {
    if (firstT < this.firstT) this.firstT = firstT;
    if (lastT > this.lastT) this.lastT = lastT;
    if (streamT > this.streamT) this.streamT = streamT;
  }

  addRecord(id: string): void {
    if (id === this.lastId) return;
    this.lastId = id;
    this.count++;
    if (this.sampleIds.length < MAX_SAMPLE_IDS) this.sampleIds.push(id);
  }

  /** Adds records counted elsewhere: `ids` are the first of them (in stream order), `count` how many in all. */
  addRecords(ids: readonly string[], count: number): void {
    for (const id of ids) {
      if (this.sampleIds.length >= MAX_SAMPLE_IDS) break;
      this.sampleIds.push(id);
    }
    this.count += count;
    this.lastId = ids.length === count ? (ids[ids.length - 1] ?? "") : "";
  }

  addIp(ip: string | null): void {
    if (ip && this.ips.length < MAX_IPS && !this.ips.includes(ip)) this.ips.push(ip);
  }

  tag(key: string, value: string | null | undefined, cap = MAX_TAG_VALUES): void {
    if (value === null || value === undefined || value === "") return;
    let set = this.tags.get(key);
    if (!set) {
      set = new Set();
      this.tags.set(key, set);
    }
    if (set.size < cap) set.add(value);
  }

  has(key: string, value: string): boolean {
    return this.tags.get(key)?.has(value) ?? false;
  }

  values(key: string): string[] {
    return [...(this.tags.get(key) ?? [])];
  }

  size(key: string): number {
    return this.tags.get(key)?.size ?? 0;
  }

  num(key: string): number {
    return this.nums.get(key) ?? 0;
  }

  add(key: string, value: number): void {
    this.nums.set(key, this.num(key) + value);
  }

  max(key: string, value: number): void {
    if (!this.nums.has(key) || value > this.num(key)) this.nums.set(key, value);
  }
}

export const AggregationSnapshotSchema = z.strictObject({
  rule: RuleIdSchema,
  subject: SubjectSchema,
  firstT: z.number(),
  lastT: z.number(),
  streamT: z.number(),
  count: z.number().int().min(0),
  sampleIds: z.array(z.string()).max(MAX_SAMPLE_IDS),
  ips: z.array(z.string()).max(MAX_IPS),
  tags: z.record(z.string(), z.array(z.string())),
  nums: z.record(z.string(), z.number()),
  lastId: z.string(),
});
type AggregationSnapshot = z.infer<typeof AggregationSnapshotSchema>;

const ClosedSchema = z.strictObject({ closeAt: z.number(), detection: DetectionSchema });
type Closed = z.infer<typeof ClosedSchema>;

export const BookSnapshotSchema = z.strictObject({
  open: z.array(AggregationSnapshotSchema),
  closed: z.array(ClosedSchema),
});
export type BookSnapshot = z.infer<typeof BookSnapshotSchema>;

function keyOf(rule: RuleId, kind: Subject["kind"], id: string): string {
  return `${rule}\u0000${kind}\u0000${id}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareClosed(a: Closed, b: Closed): number {
  return (
    a.closeAt - b.closeAt ||
    compareText(a.detection.rule, b.detection.rule) ||
    compareText(a.detection.subject.kind, b.detection.subject.kind) ||
    compareText(a.detection.subject.id, b.detection.subject.id) ||
    compareText(a.detection.firstSeen, b.detection.firstSeen)
  );
}

/** Renders a closed aggregation: its severity and its explanation (the rest is common). */
export type Renderer = (aggregation: Aggregation) => { severity: Severity; explanation: string };

export class AggregationBook {
  private readonly open = new Map<string, Aggregation>();
  /** Open aggregations per rule, so a detector can skip looking one up when there is none. */
  private readonly openPerRule = new Map<RuleId, number>();
  private closed: Closed[] = [];
  private nextCloseAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly gapMs: number,
    private readonly render: Renderer,
  ) {}

  find(rule: RuleId, kind: Subject["kind"], id: string): Aggregation | undefined {
    return this.hasOpen(rule) ? this.open.get(keyOf(rule, kind, id)) : undefined;
  }

  hasOpen(rule: RuleId): boolean {
    return (this.openPerRule.get(rule) ?? 0) > 0;
  }

  private opened(rule: RuleId, delta: number): void {
    this.openPerRule.set(rule, (this.openPerRule.get(rule) ?? 0) + delta);
  }

  /** The open aggregation of (rule, subject), extended to the hit, or a new one. */
  hit(rule: RuleId, subject: Subject, streamT: number, firstT: number, lastT: number): Aggregation {
    const key = keyOf(rule, subject.kind, subject.id);
    let aggregation = this.open.get(key);
    if (aggregation) aggregation.touch(firstT, lastT, streamT);
    else {
      aggregation = new Aggregation(rule, subject, firstT, lastT, streamT);
      this.open.set(key, aggregation);
      this.opened(rule, 1);
    }
    if (streamT + this.gapMs < this.nextCloseAt) this.nextCloseAt = streamT + this.gapMs;
    return aggregation;
  }

  /** Closes every aggregation the stream, now at `t`, can no longer extend. */
  advance(t: number): void {
    if (!(t > this.nextCloseAt)) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, aggregation] of this.open) {
      const closeAt = aggregation.streamT + this.gapMs;
      if (closeAt < t) {
        this.close(aggregation);
        this.open.delete(key);
        this.opened(aggregation.rule, -1);
      } else if (closeAt < next) next = closeAt;
    }
    this.nextCloseAt = next;
  }

  /** Closed detections since the last take, in the order described at the top of this file. */
  take(): Detection[] {
    const out = this.closed.sort(compareClosed).map((c) => c.detection);
    this.closed = [];
    return out;
  }

  closeAll(): void {
    for (const aggregation of this.open.values()) this.close(aggregation);
    this.open.clear();
    this.openPerRule.clear();
    this.nextCloseAt = Number.POSITIVE_INFINITY;
  }

  private close(a: Aggregation): void {
    const { severity, explanation } = this.render(a);
    const detection: Detection = {
      rule: a.rule,
      severity,
      subject: a.subject,
      explanation,
      firstSeen: new Date(a.firstT).toISOString(),
      lastSeen: new Date(a.lastT).toISOString(),
      count: Math.max(1, a.count),
      sampleIds: [...a.sampleIds],
      ipAddresses: [...a.ips],
    };
    this.closed.push({ closeAt: a.streamT + this.gapMs, detection });
  }

  snapshot(): BookSnapshot {
    const open: AggregationSnapshot[] = [...this.open.entries()]
      .sort(([a], [b]) => compareText(a, b))
      .map(([, a]) => ({
        rule: a.rule,
        subject: { ...a.subject },
        firstT: a.firstT,
        lastT: a.lastT,
        streamT: a.streamT,
        count: a.count,
        sampleIds: [...a.sampleIds],
        ips: [...a.ips],
        tags: Object.fromEntries([...a.tags].map(([k, v]) => [k, [...v]])),
        nums: Object.fromEntries(a.nums),
        lastId: a.lastId,
      }));
    return { open, closed: this.closed.map((c) => ({ closeAt: c.closeAt, detection: structuredClone(c.detection) })) };
  }

  restore(snapshot: BookSnapshot): void {
    this.open.clear();
    this.openPerRule.clear();
    this.nextCloseAt = Number.POSITIVE_INFINITY;
    for (const s of snapshot.open) {
      const a = new Aggregation(s.rule, s.subject, s.firstT, s.lastT, s.streamT);
      a.count = s.count;
      a.sampleIds.push(...s.sampleIds);
      a.ips.push(...s.ips);
      for (const [k, v] of Object.entries(s.tags)) a.tags.set(k, new Set(v));
      for (const [k, v] of Object.entries(s.nums)) a.nums.set(k, v);
      a.lastId = s.lastId;
      const key = keyOf(s.rule, s.subject.kind, s.subject.id);
      if (this.open.has(key)) throw new Error(`snapshot holds two open aggregations for ${s.rule} ${s.subject.kind} ${s.subject.id}`);
      this.open.set(key, a);
      this.opened(a.rule, 1);
      this.nextCloseAt = Math.min(this.nextCloseAt, s.streamT + this.gapMs);
    }
    this.closed = snapshot.closed.map((c) => ({ closeAt: c.closeAt, detection: c.detection }));
  }
}

/**
 * Enforces ascending (t, id) order. Returns false for an immediate repeat of the previous record (same t and id:
 * Graph paging can return a record twice, and sorting makes repeats adjacent), which the caller skips; throws a
 * RangeError for anything earlier.
 */
export class StreamCursor {
  t = Number.NEGATIVE_INFINITY;
  id = "";

  accept(t: number, id: string): boolean {
    if (t > this.t || (t === this.t && id > this.id)) {
      this.t = t;
      this.id = id;
      return true;
    }
    if (t === this.t && id === this.id) return false;
    throw new RangeError(
      `records must arrive in ascending (time, id) order: ${new Date(t).toISOString()} ${id} came after ${new Date(this.t).toISOString()} ${this.id}`,
    );
  }

  snapshot(): { t: number; id: string } | null {
    return Number.isFinite(this.t) ? { t: this.t, id: this.id } : null;
  }

  restore(value: { t: number; id: string } | null): void {
    this.t = value ? value.t : Number.NEGATIVE_INFINITY;
    this.id = value ? value.id : "";
  }
}

export const CursorSnapshotSchema = z.strictObject({ t: z.number(), id: z.string() }).nullable();

/** "on 2024-09-06 between 04:42 and 06:32 UTC", or with both dates when the range spans midnight. */
export function utcRange(firstT: number, lastT: number): string {
  const a = new Date(firstT).toISOString();
  const b = new Date(lastT).toISOString();
  const day = (iso: string) => iso.slice(0, 10);
  const time = (iso: string) => iso.slice(11, 16);
  if (firstT === lastT) return `on ${day(a)} at ${time(a)} UTC`;
  if (day(a) === day(b)) return `on ${day(a)} between ${time(a)} and ${time(b)} UTC`;
  return `between ${day(a)} ${time(a)} and ${day(b)} ${time(b)} UTC`;
}

/** "a, b and c" (at most `max` values named, then "and N more"). */
export function listOf(values: readonly string[], max = 5, total = values.length): string {
  const shown = values.slice(0, max);
  const more = total - shown.length;
  if (more > 0) return `${shown.join(", ")} and ${more} more`;
  if (shown.length <= 1) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1] ?? ""}`;
}

/** Severities as numbers (informational 0 … high 3), so an aggregation can keep the highest in `nums`. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function severityOfRank(rank: number): Severity {
  return SEVERITIES[Math.max(0, Math.min(SEVERITIES.length - 1, Math.round(rank)))] ?? "medium";
}

/** The configuration a snapshot was taken under; restoring under another would not give the same detections. */
export function configDigestInput(kind: string, thresholds: unknown, privilegedUserIds: readonly string[] = []): unknown {
  return { kind, thresholds, privileged: [...new Set(privilegedUserIds.map((id) => id.toLowerCase()))].sort() };
}
