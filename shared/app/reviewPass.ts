import { z } from "zod";
import {
  AuditDetectors,
  DEFAULT_THRESHOLDS,
  inTimeOrder,
  RiskDetectors,
  SIGN_IN_SELECT,
  SignInDetectors,
  toAuditRecord,
  toRiskRecord,
  toSignInRecord,
  type DetectionThresholds,
  type Timed,
} from "../domain/detections/index.js";
import { evidenceBlobPath, evidenceBlockId } from "../domain/evidencePath.js";
import type { Detection } from "../domain/finding.js";
import type { LogSourceId } from "../domain/logSource.js";
import type { EvidenceStore } from "./evidencePorts.js";
import type { Logger } from "./ports.js";
import type { ReviewSource, ReviewStream } from "./reviewSource.js";
import { emptyVolume, learnVolume, planSlice, SliceVolumeSchema } from "./sliceVolume.js";

/**
 * One review of one tenant's records over a time range, resumable: the range is cut into time slices, fetched
 * concurrently (the Graph adapter's throttle budget paces them), and fed to the detectors strictly in time order —
 * oldest first, because the oldest hours leave Entra's retention first. After every slice the pass hands its
 * checkpoint (detector state, next slice, evidence blocks staged) to the caller to persist, so a killed or
 * time-boxed run resumes at the first slice not yet checkpointed and produces the same findings and the same
 * evidence as an uninterrupted run.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type PassKind = "signins" | "audits" | "risks";

export const PASS_STREAMS: Readonly<Record<PassKind, readonly ReviewStream[]>> = {
  signins: ["signIns:v1.0", "signIns:beta"],
  audits: ["directoryAudits"],
  risks: ["riskDetections"],
};

/** Log source of each pass (what its findings and evidence belong to). */
export const PASS_SOURCE: Readonly<Record<PassKind, LogSourceId>> = { signins: "entra-signin", audits: "entra-audit", risks: "entra-risk" };

export interface PassOptions {
  /** Records a slice should hold: slices span a minute to a day, sized by the volume read per hour of day. */
  sliceTargetRecords: number;
  /** Slices fetched at once. */
  concurrency: number;
  /** Days before the window read as a baseline (sign-ins only, where retention allows). */
  baselineDays: number;
  thresholds: DetectionThresholds;
}

/**
 * Slices are large because each stream's last page of a slice is partial yet costs a whole request of the throttle
 * budget (half a page per stream and slice): 30,000 records waste 3 % of the requests, 20,000 about 5 %. Three fetch
 * at once, which keeps the budget busy at pages of several seconds.
 */
export const DEFAULT_PASS_OPTIONS: PassOptions = { sliceTargetRecords: 30_000, concurrency: 3, baselineDays: 7, thresholds: DEFAULT_THRESHOLDS };

const CommittedBlobSchema = z.object({ path: z.string(), day: z.string(), from: z.string(), to: z.string(), records: z.number(), bytes: z.number(), sha256: z.string() });
export type CommittedBlob = z.infer<typeof CommittedBlobSchema>;

export const PassCheckpointSchema = z.object({
  v: z.literal(1),
  kind: z.enum(["signins", "audits", "risks"]),
  tenantId: z.string(),
  windowId: z.string(),
  detect: z.boolean(),
  preserve: z.boolean(),
  /** Baseline slices run from `baselineFrom` to `windowFrom`; window slices from `reviewFrom` to `reviewTo`. */
  baselineFrom: z.string().nullable(),
  windowFrom: z.string(),
  reviewFrom: z.string(),
  reviewTo: z.string(),
  /** The part of the window gone from retention before the review began. */
  lost: z.object({ from: z.string(), to: z.string() }).nullable(),
  /**
   * Where the current evidence segment starts: reviewFrom, or the old reviewTo after the window grew. Day blobs are
   * named by the part of their day inside the segment, so a grown window adds blobs instead of rewriting one.
   */
  segmentFrom: z.string(),
  /** Restarts from scratch (the window's start moved): blob names carry it, so no immutable blob is written twice. */
  generation: z.number().int().min(0),
  /** Start of the next slice to read (ISO); equal to reviewTo when the window is read. */
  next: z.string(),
  /** Records per hour of day read so far, which sizes the next slices (absent in checkpoints of older versions). */
  volume: SliceVolumeSchema.default(emptyVolume),
  privilegedUserIds: z.array(z.string()),
  detector: z.unknown(),
  recordsRead: z.record(z.string(), z.number()),
  pagesPerStream: z.record(z.string(), z.number()),
  /** Window records per UTC hour (`YYYY-MM-DDTHH`), every stream together; every hour read has a key. */
  hourly: z.record(z.string(), z.number()),
  /** Records read before the window as the baseline (not in recordsRead). */
  baselineRecords: z.number(),
  unreadable: z.number(),
  pages: z.number(),
  /** Blocks staged per evidence blob not committed yet (blob path → day, bounds, block ids, records). */
  staged: z.record(z.string(), z.object({ day: z.string(), blocks: z.array(z.string()), records: z.number() })),
  committed: z.array(CommittedBlobSchema),
  /** Wall time spent reading the window (for the deadline forecast). */
  windowMsSpent: z.number(),
  finished: z.boolean(),
});
export type PassCheckpoint = z.infer<typeof PassCheckpointSchema>;

/** Detections of one pass in a uniform shape. */
interface Detectors {
  learn(record: unknown): void;
  observe(record: unknown): void;
  drain(): Detection[];
  finish(): Detection[];
  snapshot(): unknown;
  readonly observed: number;
}

function detectorsFor(cp: PassCheckpoint, thresholds: DetectionThresholds): Detectors {
  const snapshot = cp.detector;
  switch (cp.kind) {
    case "signins": {
      const d = snapshot === null || snapshot === undefined ? new SignInDetectors(thresholds, cp.privilegedUserIds) : SignInDetectors.restore(snapshot, thresholds, cp.privilegedUserIds);
      return {
        learn: (r) => { d.learn(r as Parameters<SignInDetectors["learn"]>[0]); },
        observe: (r) => { d.observe(r as Parameters<SignInDetectors["observe"]>[0]); },
        drain: () => d.drain(),
        finish: () => d.finish(),
        snapshot: () => d.snapshot(),
        get observed() { return d.observed; },
      };
    }
    case "audits": {
      const d = snapshot === null || snapshot === undefined ? new AuditDetectors(thresholds) : AuditDetectors.restore(snapshot, thresholds);
      return {
        learn: () => undefined,
        observe: (r) => { d.observe(r as Parameters<AuditDetectors["observe"]>[0]); },
        drain: () => d.drain(),
        finish: () => d.finish(),
        snapshot: () => d.snapshot(),
        get observed() { return d.observed; },
      };
    }
    case "risks": {
      const d = snapshot === null || snapshot === undefined ? new RiskDetectors(thresholds) : RiskDetectors.restore(snapshot, thresholds);
      return {
        learn: () => undefined,
        observe: (r) => { d.observe(r as Parameters<RiskDetectors["observe"]>[0]); },
        drain: () => d.drain(),
        finish: () => d.finish(),
        snapshot: () => d.snapshot(),
        get observed() { return d.observed; },
      };
    }
  }
}

function normalise(kind: PassKind, stream: ReviewStream, raw: unknown): Timed | undefined {
  switch (kind) {
    case "signins":
      return toSignInRecord(raw, stream === "signIns:v1.0" ? "interactiveUser" : "nonInteractiveUser");
    case "audits":
      return toAuditRecord(raw);
    case "risks":
      return toRiskRecord(raw);
  }
}

function selectFor(kind: PassKind, stream: ReviewStream, preserve: boolean): readonly string[] | undefined {
  // Evidence keeps records whole; a review alone asks Graph only for what the detectors read (smaller pages).
  if (preserve || kind !== "signins") return undefined;
  return stream === "signIns:v1.0" ? SIGN_IN_SELECT["v1.0"] : SIGN_IN_SELECT.beta;
}

const iso = (ms: number) => new Date(ms).toISOString();
const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

export interface PassPlan {
  kind: PassKind;
  tenantId: string;
  windowId: string;
  windowStart: string;
  /** The window's end; null (open) reviews up to `now`. */
  windowEnd: string | null;
  /** Days Graph keeps this pass's records for the tenant (7 / 30 for sign-ins and audits, 90 for risk detections). */
  retentionDays: number;
  detect: boolean;
  preserve: boolean;
  privilegedUserIds: readonly string[];
}

/**
 * The first checkpoint of a pass: what of the window is still inside retention at `now` (the rest is recorded as
 * lost), the baseline before it, and the first slice.
 */
export function startPass(plan: PassPlan, now: Date, options: Pick<PassOptions, "baselineDays">): PassCheckpoint {
  const nowMs = now.getTime();
  const windowFrom = Date.parse(plan.windowStart);
  // Risk detections found offline arrive up to two days after the activity; read that far past the window's end.
  const tail = plan.kind === "risks" ? 2 * DAY_MS : 0;
  const windowTo = Math.min(plan.windowEnd === null ? nowMs : Date.parse(plan.windowEnd) + tail, nowMs);
  // The oldest whole hour still inside retention (Graph drops records as they age past it).
  const retainedFrom = ceilHour(nowMs - plan.retentionDays * DAY_MS);
  const reviewFrom = Math.min(Math.max(windowFrom, retainedFrom), Math.max(windowTo, windowFrom));
  const lost = windowFrom < reviewFrom ? { from: iso(windowFrom), to: iso(reviewFrom) } : null;
  const baselineStart = Math.max(retainedFrom, windowFrom - options.baselineDays * DAY_MS);
  const baselineFrom = plan.kind === "signins" && plan.detect && baselineStart < windowFrom && reviewFrom === windowFrom ? baselineStart : null;
  return {
    v: 1,
    kind: plan.kind,
    tenantId: plan.tenantId,
    windowId: plan.windowId,
    detect: plan.detect,
    preserve: plan.preserve && plan.kind !== "risks",
    baselineFrom: baselineFrom === null ? null : iso(baselineFrom),
    windowFrom: iso(windowFrom),
    reviewFrom: iso(reviewFrom),
    reviewTo: iso(Math.max(windowTo, reviewFrom)),
    lost,
    segmentFrom: iso(reviewFrom),
    generation: 0,
    next: iso(baselineFrom ?? reviewFrom),
    volume: emptyVolume(),
    privilegedUserIds: [...plan.privilegedUserIds],
    detector: null,
    recordsRead: {},
    pagesPerStream: {},
    baselineRecords: 0,
    hourly: {},
    unreadable: 0,
    pages: 0,
    staged: {},
    committed: [],
    windowMsSpent: 0,
    finished: false,
  };
}

/**
 * Extends a finished or running pass to a window that grew (a later revision moved its end): the reviewed hours stay
 * reviewed, the detector state carries on.
 */
export function extendPass(cp: PassCheckpoint, windowEnd: string | null, now: Date): PassCheckpoint {
  const nowMs = now.getTime();
  const tail = cp.kind === "risks" ? 2 * DAY_MS : 0;
  const windowTo = Math.min(windowEnd === null ? nowMs : Date.parse(windowEnd) + tail, nowMs);
  if (windowTo <= Date.parse(cp.reviewTo)) return cp;
  return { ...cp, segmentFrom: cp.reviewTo, reviewTo: iso(windowTo), finished: false };
}

export interface PassProgress {
  phase: "baseline" | "window";
  /** Window hours read so far and in all. */
  hoursDone: number;
  hoursTotal: number;
  records: number;
  pages: number;
}

export interface PassDeps {
  source: ReviewSource;
  /** Where evidence goes; required when the pass preserves. */
  evidence?: EvidenceStore;
  logger?: Logger;
  /** Monotonic milliseconds (performance.now): the time budget and the deadline forecast use wall time. */
  stopwatch: () => number;
}

export interface AdvanceOptions {
  options: PassOptions;
  /** Stop planning new slices once the stopwatch passes this (in-flight slices still finish and are checkpointed). */
  stopAtMs: number;
  /**
   * Persists a checkpoint and the detections drained with it (findings first, then the checkpoint: a crash between
   * the two re-emits the same findings, which are upserts). Returns false when the run must stop (lease lost).
   */
  onCheckpoint(cp: PassCheckpoint, detections: readonly Detection[], progress: PassProgress): Promise<boolean>;
}

export interface AdvanceResult {
  checkpoint: PassCheckpoint;
  /** The window is read to its end; `final` holds the detections that closing the stream produced. */
  finished: boolean;
  final: Detection[];
  /** The run stopped because onCheckpoint said so. */
  stopped: boolean;
}

interface SliceResult {
  from: number;
  to: number;
  baseline: boolean;
  records: Timed[];
  readPerStream: Record<string, number>;
  pagesPerStream: Record<string, number>;
  hourly: Record<string, number>;
  unreadable: number;
  pages: number;
  staged: { path: string; day: string; blockId: string; records: number }[];
}

function dayOf(ms: number): string {
  return iso(ms).slice(0, 10);
}

/** A raw record's time in the pass's time property (epoch ms; NaN when absent): its hour and evidence day. */
function recordMs(kind: PassKind, raw: unknown): number {
  const r = raw as Record<string, unknown>;
  const value = kind === "signins" ? r.createdDateTime : kind === "audits" ? r.activityDateTime : r.detectedDateTime;
  return typeof value === "string" ? Date.parse(value) : Number.NaN;
}

async function readSlice(deps: PassDeps, cp: PassCheckpoint, from: number, to: number, baseline: boolean): Promise<SliceResult> {
  const result: SliceResult = { from, to, baseline, records: [], readPerStream: {}, pagesPerStream: {}, hourly: {}, unreadable: 0, pages: 0, staged: [] };
  const preserve = cp.preserve && !baseline;
  // Records per hour since the epoch; keyed `YYYY-MM-DDTHH` once the slice is read.
  const hourCounts = new Map<number, number>();
  // Each stream's records as Graph sends them (newest first), put in time order once the slice is read.
  const streamRecords: Timed[][] = [];
  for (const stream of PASS_STREAMS[cp.kind]) {
    let pageIndex = 0;
    let read = 0;
    const records: Timed[] = [];
    streamRecords.push(records);
    for await (const items of deps.source.pages(cp.tenantId, stream, new Date(from), new Date(to), selectFor(cp.kind, stream, preserve))) {
      result.pages++;
      read += items.length;
      const linesByDay = new Map<string, string[]>();
      for (const raw of items) {
        let ms: number;
        if (cp.detect) {
          const record = normalise(cp.kind, stream, raw);
          if (record) records.push(record);
          else result.unreadable++;
          // The normalisers parse the same timestamp exactly as Date.parse does; no need to parse it twice.
          ms = record ? record.t : recordMs(cp.kind, raw);
        } else {
          ms = recordMs(cp.kind, raw);
        }
        if (!Number.isNaN(ms)) {
          const hour = Math.floor(ms / HOUR_MS);
          hourCounts.set(hour, (hourCounts.get(hour) ?? 0) + 1);
        }
        if (preserve) {
          const day = Number.isNaN(ms) ? dayOf(from) : dayOf(ms);
          const list = linesByDay.get(day);
          const line = JSON.stringify(raw);
          if (list) list.push(line);
          else linesByDay.set(day, [line]);
        }
      }
      if (preserve && deps.evidence) {
        for (const [day, lines] of [...linesByDay].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const path = evidencePathFor(cp, day);
          const blockId = evidenceBlockId({ sliceStart: iso(from), stream, page: pageIndex });
          await deps.evidence.stageBlock(path, blockId, lines);
          result.staged.push({ path, day, blockId, records: lines.length });
        }
      }
      pageIndex++;
    }
    result.readPerStream[stream] = read;
    result.pagesPerStream[stream] = pageIndex;
  }
  for (const [hour, count] of hourCounts) result.hourly[iso(hour * HOUR_MS).slice(0, 13)] = count;
  result.records = inTimeOrder(streamRecords);
  return result;
}

/** The part of `day` inside the current evidence segment (what that day's blob holds). */
function dayRange(cp: PassCheckpoint, day: string): { from: string; to: string } {
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  return { from: iso(Math.max(dayStart, Date.parse(cp.segmentFrom))), to: iso(Math.min(dayStart + DAY_MS, Date.parse(cp.reviewTo))) };
}

/** One evidence blob per tenant, source and day: the part of the segment that falls on that day. */
function evidencePathFor(cp: PassCheckpoint, day: string): string {
  const windowId = cp.generation === 0 ? cp.windowId : `${cp.windowId}-g${String(cp.generation)}`;
  return evidenceBlobPath({ tenantId: cp.tenantId, source: PASS_SOURCE[cp.kind], day, windowId, ...dayRange(cp, day) });
}

/** Commits every staged evidence blob whose day the review has fully passed (or all of them at the end). */
async function commitReadyBlobs(deps: PassDeps, cp: PassCheckpoint, all: boolean): Promise<void> {
  if (!deps.evidence) return;
  const nextMs = Date.parse(cp.next);
  for (const [path, staged] of Object.entries(cp.staged).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const dayEnd = Date.parse(`${staged.day}T00:00:00Z`) + DAY_MS;
    if (!all && dayEnd > nextMs) continue;
    const committed = await deps.evidence.commitBlob(path, staged.blocks, {
      tenant: cp.tenantId,
      window: cp.windowId,
      source: PASS_SOURCE[cp.kind],
      day: staged.day,
      records: String(staged.records),
    });
    cp.committed.push({ path, day: staged.day, ...dayRange(cp, staged.day), records: staged.records, bytes: committed.bytes, sha256: committed.sha256 });
    cp.staged = Object.fromEntries(Object.entries(cp.staged).filter(([p]) => p !== path));
  }
}

function progressOf(cp: PassCheckpoint, baseline: boolean): PassProgress {
  const from = Date.parse(cp.reviewFrom);
  const to = Date.parse(cp.reviewTo);
  const next = Date.parse(cp.next);
  return {
    phase: baseline ? "baseline" : "window",
    hoursDone: baseline ? 0 : Math.max(0, (Math.min(next, to) - from) / HOUR_MS),
    hoursTotal: Math.max(0, (to - from) / HOUR_MS),
    records: Object.values(cp.recordsRead).reduce((a, b) => a + b, 0),
    pages: cp.pages,
  };
}

/**
 * Reads slices from the checkpoint on until the window is read, the stopwatch passes `stopAtMs`, or onCheckpoint
 * says stop. Returns the last checkpoint; when finished, `final` holds what closing the detectors produced (the
 * checkpoint keeps the detector state from *before* closing, so a window that grows later carries on from it).
 */
export async function advancePass(deps: PassDeps, start: PassCheckpoint, run: AdvanceOptions): Promise<AdvanceResult> {
  const cp: PassCheckpoint = structuredClone(start);
  const detectors = detectorsFor(cp, run.options.thresholds);
  const windowFromMs = Date.parse(cp.windowFrom);
  const reviewFromMs = Date.parse(cp.reviewFrom);
  const reviewToMs = Date.parse(cp.reviewTo);
  let planned = Date.parse(cp.next);
  const inFlight: Promise<SliceResult>[] = [];
  let stopped = false;
  // Slices being fetched (not yet finished). Up to `concurrency` fetch at once; a finished one waits its turn in
  // `inFlight` (time order), one beyond that, so a slow slice does not idle the others' Graph budget. Memory holds at
  // most concurrency + 1 slices of records.
  let fetching = 0;
  let halted = false;
  const maxBuffered = run.options.concurrency + 1;

  const planNextSlice = (): boolean => {
    const inBaseline = cp.baselineFrom !== null && planned < windowFromMs;
    const phaseEnd = inBaseline ? windowFromMs : reviewToMs;
    if (!inBaseline && planned < reviewFromMs) planned = reviewFromMs;
    if (planned >= phaseEnd) return false;
    const plan = planSlice(cp.volume, planned, phaseEnd, run.options.sliceTargetRecords);
    // A slice into hours of day not read yet may hold far more than predicted: nothing else is read beside it.
    if (plan.unknown && fetching > 0) return false;
    const from = planned;
    const slice = readSlice(deps, cp, from, plan.to, inBaseline);
    fetching++;
    cp.volume = { ...cp.volume, lastSpanMs: plan.to - from };
    // A slice may fail while an earlier one is awaited: mark it handled here, its failure surfaces when awaited.
    // Whenever one finishes, its volume sizes the next slices and the next is planned at once (not only when the
    // oldest is consumed).
    slice.then(
      (read) => {
        fetching--;
        cp.volume = learnVolume(cp.volume, read.from, read.to, read.hourly);
        fill();
      },
      () => { fetching--; },
    );
    inFlight.push(slice);
    planned = plan.to;
    return true;
  };

  function fill(): void {
    while (!halted && fetching < run.options.concurrency && inFlight.length < maxBuffered && deps.stopwatch() < run.stopAtMs && planNextSlice()) {
      /* planned one more slice */
    }
  }

  // Always make progress: the first slice is planned even when the budget is already spent.
  if (inFlight.length === 0) planNextSlice();
  fill();
  while (inFlight.length > 0) {
    const started = deps.stopwatch();
    const slice = await (inFlight.shift() as Promise<SliceResult>);
    for (const r of slice.records) {
      if (slice.baseline) detectors.learn(r);
      else detectors.observe(r);
    }
    if (slice.baseline) {
      cp.baselineRecords += Object.values(slice.readPerStream).reduce((a, b) => a + b, 0);
    } else {
      for (const [stream, n] of Object.entries(slice.readPerStream)) cp.recordsRead[stream] = (cp.recordsRead[stream] ?? 0) + n;
      for (const [stream, n] of Object.entries(slice.pagesPerStream)) cp.pagesPerStream[stream] = (cp.pagesPerStream[stream] ?? 0) + n;
      // Every hour of the slice was read: empty hours count 0, so a chart can tell "read, empty" from "not read".
      for (let h = floorHour(slice.from); h < slice.to; h += HOUR_MS) {
        const key = iso(h).slice(0, 13);
        cp.hourly[key] = (cp.hourly[key] ?? 0) + (slice.hourly[key] ?? 0);
      }
    }
    cp.unreadable += slice.unreadable;
    cp.pages += slice.pages;
    for (const s of slice.staged) {
      const entry = cp.staged[s.path] ?? { day: s.day, blocks: [], records: 0 };
      entry.blocks.push(s.blockId);
      entry.records += s.records;
      cp.staged[s.path] = entry;
    }
    cp.next = iso(slice.to);
    if (!slice.baseline) cp.windowMsSpent += deps.stopwatch() - started;
    // Drain first: the snapshot must not hold detections already handed out (a resume would emit them again).
    const drained = detectors.drain();
    cp.detector = detectors.snapshot();
    await commitReadyBlobs(deps, cp, false);
    const keepGoing = await run.onCheckpoint(structuredClone(cp), drained, progressOf(cp, slice.baseline));
    if (!keepGoing) {
      stopped = true;
      halted = true;
      // In-flight slices are abandoned; their staged blocks are staged again (same ids) by the next run.
      await Promise.allSettled(inFlight);
      inFlight.length = 0;
      break;
    }
    fill();
  }

  halted = true;
  if (stopped || Date.parse(cp.next) < reviewToMs) return { checkpoint: cp, finished: false, final: [], stopped };
  await commitReadyBlobs(deps, cp, true);
  const final = detectors.finish();
  cp.finished = true;
  return { checkpoint: cp, finished: true, final, stopped: false };
}

/**
 * Whether the hours still to read will leave retention before the measured pace reaches them: the time to read up to
 * hour h is (h − next) ÷ pace; hour h expires at h + retention. Checked at both ends of what is left (the condition
 * is linear in h). The hours are read oldest first, so what can still be saved is read first.
 */
export function deadlineAtRisk(cp: PassCheckpoint, retentionDays: number, nowMs: number): { atRisk: boolean; forecastMs: number | null } {
  const done = Date.parse(cp.next) - Date.parse(cp.reviewFrom);
  if (done <= 0 || cp.windowMsSpent <= 0) return { atRisk: false, forecastMs: null };
  const pace = done / cp.windowMsSpent; // data milliseconds read per wall millisecond
  const next = Date.parse(cp.next);
  const end = Date.parse(cp.reviewTo);
  const forecastMs = (end - next) / pace;
  const retention = retentionDays * DAY_MS;
  const late = (h: number) => nowMs + (h - next) / pace > h + retention;
  return { atRisk: next < end && (late(next) || late(end)), forecastMs };
}
