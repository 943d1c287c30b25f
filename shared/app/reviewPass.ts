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
import { readAhead } from "./readAhead.js";
import { ResumeRejectedError, type ReviewSource, type ReviewStream } from "./reviewSource.js";
import type { ReviewSpool } from "./reviewSpool.js";
import { emptyVolume, learnVolume, planSlice, SliceVolumeSchema } from "./sliceVolume.js";

/**
 * One review of one tenant's records over a time range, resumable: the range is cut into time slices, fetched
 * concurrently (the Graph adapter's throttle budget paces them), and fed to the detectors strictly in time order —
 * oldest first, because the oldest hours leave Entra's retention first. After every page the pass hands its
 * checkpoint to the caller to persist: the detector state and evidence blocks of the slices consumed, and for each
 * slice being read where each stream stands (Graph's nextLink, pages spooled: ./reviewSpool.ts). A killed or
 * time-boxed run resumes at the next page of every slice it was reading and produces the same findings and the same
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
  /**
   * How long after an event Graph may still be adding its record: a pass reads no closer to now than this, and reads
   * the rest once it has passed. Entra reported sign-ins and audits within 2 minutes at the 95th percentile and
   * 5 minutes at the 99th; non-interactive sign-ins are batched and come later.
   */
  settleMs: number;
  /**
   * An open window (the incident goes on) is read on in steps of this length, aligned to UTC midnight, each once Graph
   * has settled it: the team's own logs are blind now, so the review follows the window instead of waiting for its end.
   */
  followMs: number;
  thresholds: DetectionThresholds;
}

/**
 * Slices are large because each stream's last page of a slice is partial yet costs a whole request of the throttle
 * budget (half a page per stream and slice): 30,000 records waste 3 % of the requests, 20,000 about 5 %. Three fetch
 * at once, which keeps the budget busy at pages of several seconds.
 */
export const DEFAULT_PASS_OPTIONS: PassOptions = { sliceTargetRecords: 30_000, concurrency: 3, baselineDays: 7, settleMs: 30 * 60_000, followMs: 6 * 3_600_000, thresholds: DEFAULT_THRESHOLDS };

const CommittedBlobSchema = z.object({ path: z.string(), day: z.string(), from: z.string(), to: z.string(), records: z.number(), bytes: z.number(), sha256: z.string() });
export type CommittedBlob = z.infer<typeof CommittedBlobSchema>;

const StagedBlockSchema = z.object({ path: z.string(), day: z.string(), blockId: z.string(), records: z.number() });

/**
 * Where one stream of a slice stands: pages read (spooled as 0 … pages − 1) and where Graph goes on. No page read
 * (a stream listed only because a later one in the list began first) means not begun, whatever nextLink says.
 */
const StreamCursorSchema = z.object({
  pages: z.number().int().min(0),
  read: z.number().int().min(0),
  /** Graph's nextLink after the last page read; null when the stream is read to its end. */
  nextLink: z.string().nullable(),
});

/** A slice being read: what its pages read so far added up to (its streams are read side by side). */
const SliceCursorSchema = z.object({
  from: z.string(),
  to: z.string(),
  baseline: z.boolean(),
  /** The streams begun, in PASS_STREAMS order (a stream not listed, or listed with no page, has no page read yet). */
  streams: z.array(StreamCursorSchema),
  /** Records per hour since the epoch (the hour's number as key). */
  hours: z.record(z.string(), z.number()),
  unreadable: z.number(),
  staged: z.array(StagedBlockSchema),
});
export type SliceCursor = z.infer<typeof SliceCursorSchema>;

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
  /**
   * The window's end the range was planned for (null: open); absent in checkpoints of older versions. A closed window
   * whose end later moves past it is read on to the new end when the pass finishes (see extendPass).
   */
  windowEnd: z.string().nullable().optional(),
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
  /**
   * When this pass began (a restart begins a new one): a `delay` window read before its end had settled is read again
   * (see rereadsDelayed in runControl). Absent in checkpoints of older versions: then when is unknown.
   */
  startedAt: z.string().optional(),
  /** Start of the first slice not consumed yet (ISO); equal to reviewTo when the window is read. */
  next: z.string(),
  /** Slices being read, in time order from `next` on (absent in checkpoints of older versions, saved per slice). */
  reading: z.array(SliceCursorSchema).default([]),
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
      // The window the detections are read for (a checkpoint of an older version has no end recorded: no bounds).
      const window = cp.windowEnd === undefined ? undefined : { from: Date.parse(cp.windowFrom), to: cp.windowEnd === null ? null : Date.parse(cp.windowEnd) };
      const d = snapshot === null || snapshot === undefined ? new RiskDetectors(thresholds, window) : RiskDetectors.restore(snapshot, thresholds, window);
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
 * How far a pass over a window may read at `nowMs`: to the window's end (risk detections found offline arrive up to
 * two days after the activity, so those are read that far past it), but never within `settleMs` of now, where Graph
 * may still be adding records. An open window reads up to that.
 */
function readableTo(kind: PassKind, windowEnd: string | null, nowMs: number, settleMs = DEFAULT_PASS_OPTIONS.settleMs): number {
  const tail = kind === "risks" ? 2 * DAY_MS : 0;
  const settled = nowMs - settleMs;
  return Math.min(windowEnd === null ? settled : Date.parse(windowEnd) + tail, settled);
}

/**
 * Whether a pass has read what Graph can give of its window so far but the window ended less than `settleMs` ago:
 * its last hours are read once Graph has settled them (at `readyAt`). A pass still reading, or an open window, is
 * never waiting.
 */
export function settling(cp: PassCheckpoint, windowEnd: string | null, settleMs = DEFAULT_PASS_OPTIONS.settleMs): { readyAt: Date } | undefined {
  if (!cp.finished || windowEnd === null) return undefined;
  const end = Date.parse(windowEnd);
  return Date.parse(cp.reviewTo) < end ? { readyAt: new Date(end + settleMs) } : undefined;
}

/**
 * An open window's pass that has read what Graph had settled: the next step of `followMs` (aligned to UTC midnight,
 * so each evidence segment is a fixed part of its day) to read now, or when it can be read (`readyAt`, once Graph has
 * settled it). A pass still reading, or of a window with an end, is returned as it is.
 */
export function followPass(cp: PassCheckpoint, now: Date, options: Pick<PassOptions, "settleMs" | "followMs">): { cp: PassCheckpoint; readyAt?: Date } {
  if (!cp.finished || cp.windowEnd !== null) return { cp };
  const reviewTo = Date.parse(cp.reviewTo);
  const step = Math.floor((now.getTime() - options.settleMs) / options.followMs) * options.followMs;
  if (step > reviewTo) return { cp: { ...cp, segmentFrom: cp.reviewTo, reviewTo: iso(step), finished: false } };
  return { cp, readyAt: new Date((Math.floor(reviewTo / options.followMs) + 1) * options.followMs + options.settleMs) };
}

/**
 * The first checkpoint of a pass: what of the window is still inside retention at `now` (the rest is recorded as
 * lost), the baseline before it, and the first slice.
 */
export function startPass(plan: PassPlan, now: Date, options: Pick<PassOptions, "baselineDays"> & Partial<Pick<PassOptions, "settleMs">>): PassCheckpoint {
  const nowMs = now.getTime();
  const windowFrom = Date.parse(plan.windowStart);
  const windowTo = readableTo(plan.kind, plan.windowEnd, nowMs, options.settleMs);
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
    windowEnd: plan.windowEnd,
    reviewFrom: iso(reviewFrom),
    reviewTo: iso(Math.max(windowTo, reviewFrom)),
    lost,
    segmentFrom: iso(reviewFrom),
    generation: 0,
    startedAt: now.toISOString(),
    next: iso(baselineFrom ?? reviewFrom),
    reading: [],
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
 * Extends a finished pass to a window that grew (a later revision moved its end): the reviewed hours stay reviewed,
 * the detector state carries on, and the new hours are a new evidence segment. A pass still reading keeps its range
 * until it is finished: evidence blobs are named by the part of their day the segment holds, so moving the end (or
 * the segment) under blocks already staged would split a day across blobs. The end it is extended to is recorded
 * (`windowEnd`), so the same end never extends it twice.
 */
export function extendPass(cp: PassCheckpoint, windowEnd: string | null, now: Date, settleMs?: number): PassCheckpoint {
  if (!cp.finished) return cp;
  const windowTo = readableTo(cp.kind, windowEnd, now.getTime(), settleMs);
  if (windowTo <= Date.parse(cp.reviewTo)) return cp;
  return { ...cp, windowEnd, segmentFrom: cp.reviewTo, reviewTo: iso(windowTo), finished: false };
}

/**
 * How far the pass has planned (epoch ms): the end of the last slice being read (they are in time order), or `next`.
 */
function plannedTo(cp: PassCheckpoint): number {
  return Date.parse(cp.reading.at(-1)?.to ?? cp.next);
}

/**
 * Narrows a pass still reading to a window whose end moved earlier (a later revision, e.g. a PIR, shortened the
 * incident), so the hours after the new end are not read, preserved or searched. The pass never gives up what it
 * has planned already (`next` and the slices being read), and a day with records staged keeps the evidence blob name
 * it has (named by the part of the day the segment holds): when the new end falls on a day already reached, the pass
 * stops at the end of that day instead. Otherwise it stops at the new end exactly, as a pass planned for it would.
 * Returns `cp` itself when nothing changes.
 */
export function narrowPass(cp: PassCheckpoint, windowEnd: string | null): PassCheckpoint {
  if (windowEnd === null || cp.finished) return cp;
  const tail = cp.kind === "risks" ? 2 * DAY_MS : 0;
  const end = Date.parse(windowEnd) + tail;
  const reviewTo = Date.parse(cp.reviewTo);
  if (!(end < reviewTo)) return cp;
  const reach = plannedTo(cp);
  const to = end - (end % DAY_MS) >= reach ? end : Math.min(reviewTo, Math.ceil(reach / DAY_MS) * DAY_MS);
  if (to >= reviewTo) return cp;
  return { ...cp, windowEnd, reviewTo: iso(to) };
}

/**
 * Whether a pass that just finished must read on: its window is closed and ends later than the end the pass was
 * planned (or last extended) for — the end moved while the pass was reading, or the pass was taken over from a
 * window this one replaced. An open window's pass stops where it was planned (the time it began) and reads on when
 * an end is known; a checkpoint of an older version, without `windowEnd`, is never read on here.
 */
export function outgrown(cp: PassCheckpoint, windowEnd: string | null): boolean {
  if (windowEnd === null || cp.windowEnd === undefined) return false;
  return cp.windowEnd === null || Date.parse(windowEnd) > Date.parse(cp.windowEnd);
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
  /**
   * Where pages wait for their slice to be read. Without one (an ad hoc review), a resumed slice is read again from
   * its start.
   */
  spool?: ReviewSpool;
  logger?: Logger;
  /** Monotonic milliseconds (performance.now): the time budget and the deadline forecast use wall time. */
  stopwatch: () => number;
}

export interface AdvanceOptions {
  options: PassOptions;
  /**
   * Once the stopwatch passes this, no new slice is planned and the slices being read stop after their current page
   * (their cursors are checkpointed; the next run goes on from there).
   */
  stopAtMs: number;
  /**
   * Persists a checkpoint and the detections drained with it (findings first, then the checkpoint: a crash between
   * the two re-emits the same findings, which are upserts). Returns false when the run must stop (lease lost).
   */
  onCheckpoint(cp: PassCheckpoint, detections: readonly Detection[], progress: PassProgress): Promise<boolean>;
  /**
   * Persists a checkpoint after a page was read (no detections: only slices consumed produce them). Saves are never
   * concurrent: pages read while one is written are covered by the next. Returns false when the run must stop.
   * Without it, checkpoints are saved per slice.
   */
  onPage?: (cp: PassCheckpoint) => Promise<boolean>;
}

export interface AdvanceResult {
  checkpoint: PassCheckpoint;
  /** The window is read to its end; `final` holds the detections that closing the stream produced. */
  finished: boolean;
  final: Detection[];
  /** The run stopped because onCheckpoint or onPage said so. */
  stopped: boolean;
}

interface SliceResult {
  cursor: SliceCursor;
  /** Every stream is read to its end (otherwise the run stopped after a page, and the cursor says where). */
  complete: boolean;
  records: Timed[];
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

/** Where a review's spooled pages live: per tenant, window, pass and generation, then slice, stream and page. */
function spoolPrefix(cp: PassCheckpoint): string {
  return `pages/${cp.tenantId}/${cp.windowId}/${cp.kind}/g${String(cp.generation)}/`;
}

function spoolPath(cp: PassCheckpoint, cursor: SliceCursor, stream: ReviewStream, page: number): string {
  return `${spoolSlicePrefix(cp, cursor)}${stream}/${String(page)}.json`;
}

function spoolSlicePrefix(cp: PassCheckpoint, cursor: SliceCursor): string {
  return `${spoolPrefix(cp)}${cursor.from}/`;
}

/** A cursor for a slice not begun. */
function newCursor(from: number, to: number, baseline: boolean): SliceCursor {
  return { from: iso(from), to: iso(to), baseline, streams: [], hours: {}, unreadable: 0, staged: [] };
}

/** A resumed slice cannot go on from its cursor (Graph refused a nextLink, a spooled page is gone): read it again. */
class SliceRestart extends Error {}

interface SliceHooks {
  /** Called after each page is in the cursor (spooled, evidence staged); the next page waits until it is saved. */
  pageRead(): Promise<void>;
  /** True when the run stops: the slice returns after its current page. */
  halted(): boolean;
}

/**
 * Reads one slice from where its cursor stands (a new cursor: from its start) until every stream is read, or the run
 * halts. The cursor is updated after each page, once the page is spooled and its evidence staged, so a checkpoint
 * taken at any time names only pages that are safely stored.
 */
async function readSliceFrom(deps: PassDeps, cp: PassCheckpoint, cursor: SliceCursor, hooks: SliceHooks): Promise<SliceResult> {
  const from = Date.parse(cursor.from);
  const to = Date.parse(cursor.to);
  const preserve = cp.preserve && !cursor.baseline;
  const spool = cp.detect ? deps.spool : undefined;
  const streams = PASS_STREAMS[cp.kind];
  // Each stream's records as Graph sends them (newest first), put in time order once the slice is read.
  const streamRecords: Timed[][] = streams.map(() => []);
  for (const [i, state] of cursor.streams.entries()) {
    if (!cp.detect) break;
    const stream = streams[i] as ReviewStream;
    for (let page = 0; page < state.pages; page++) {
      const records = spool ? await spool.getPage(spoolPath(cp, cursor, stream, page)) : undefined;
      if (!records) throw new SliceRestart(`page ${String(page)} of ${stream} is not spooled`);
      for (const r of records) (streamRecords[i] as Timed[]).push(r as Timed);
    }
  }
  // The streams are read side by side (the first day's slices are read alone: one stream at a time would idle
  // most of the throttle budget). A stream that fails stops the others after their current page. A stream told to
  // stop still takes in the page it already asked for: its request is spent, and a checkpoint can name it.
  let failure: { error: unknown } | undefined;
  const halted = () => failure !== undefined || hooks.halted();
  /** Where stream i goes on: undefined from its start (no page read), null when it is read to its end. */
  const resumeAt = (i: number): string | null | undefined => {
    const state = cursor.streams[i];
    return state !== undefined && state.pages > 0 ? state.nextLink : undefined;
  };
  /** Reads stream i from `resume` on; true when it is read to its end. */
  const readStream = async (i: number, stream: ReviewStream, resume: string | undefined): Promise<boolean> => {
    const records = streamRecords[i] as Timed[];
    // The next page is asked for while this one is normalised, spooled and saved (not when the run is ending).
    const pages = readAhead(deps.source.pages(cp.tenantId, stream, new Date(from), new Date(to), selectFor(cp.kind, stream, preserve), resume), () => !halted());
    try {
      for (let step = await pages.next(); !step.done; step = await pages.next()) {
        const { items, nextLink } = step.value;
        const pageIndex = cursor.streams[i]?.pages ?? 0;
        const pageRecords: Timed[] = [];
        const hours = new Map<number, number>();
        let unreadable = 0;
        const linesByDay = new Map<string, string[]>();
        for (const raw of items) {
          let ms: number;
          if (cp.detect) {
            const record = normalise(cp.kind, stream, raw);
            if (record) pageRecords.push(record);
            else unreadable++;
            // The normalisers parse the same timestamp exactly as Date.parse does; no need to parse it twice.
            ms = record ? record.t : recordMs(cp.kind, raw);
          } else {
            ms = recordMs(cp.kind, raw);
          }
          if (!Number.isNaN(ms)) {
            const hour = Math.floor(ms / HOUR_MS);
            hours.set(hour, (hours.get(hour) ?? 0) + 1);
          }
          if (preserve) {
            const day = Number.isNaN(ms) ? dayOf(from) : dayOf(ms);
            const list = linesByDay.get(day);
            const line = JSON.stringify(raw);
            if (list) list.push(line);
            else linesByDay.set(day, [line]);
          }
        }
        const staged: SliceCursor["staged"] = [];
        if (preserve && deps.evidence) {
          for (const [day, lines] of [...linesByDay].sort(([a], [b]) => (a < b ? -1 : 1))) {
            const path = evidencePathFor(cp, day);
            const blockId = evidenceBlockId({ sliceStart: cursor.from, stream, page: pageIndex });
            await deps.evidence.stageBlock(path, blockId, lines);
            staged.push({ path, day, blockId, records: lines.length });
          }
        }
        if (spool) await spool.putPage(spoolPath(cp, cursor, stream, pageIndex), pageRecords);
        // The page is stored: from here on a checkpoint may name it. Streams before this one not begun yet are
        // listed with no page read (a stream's place in the list is its place in PASS_STREAMS).
        for (let k = cursor.streams.length; k < i; k++) cursor.streams[k] = { pages: 0, read: 0, nextLink: null };
        const state = cursor.streams[i] ?? { pages: 0, read: 0, nextLink: null };
        cursor.streams[i] = { pages: state.pages + 1, read: state.read + items.length, nextLink };
        for (const [hour, n] of hours) cursor.hours[hour] = (cursor.hours[hour] ?? 0) + n;
        cursor.unreadable += unreadable;
        cursor.staged.push(...staged);
        for (const r of pageRecords) records.push(r);
        await hooks.pageRead();
        if (nextLink === null) return true;
        if (halted() && !pages.aheadInFlight()) return false;
      }
      return true;
    } catch (error) {
      const reason = error instanceof ResumeRejectedError ? new SliceRestart(error.message) : error;
      failure ??= { error: reason };
      throw reason;
    } finally {
      pages.close();
    }
  };
  // A run already out of time reads one page of the first unfinished stream only (every run makes progress).
  const open = streams.flatMap((stream, i) => {
    const resume = resumeAt(i);
    return resume === null ? [] : [{ i, stream, resume }];
  });
  const reading = (hooks.halted() ? open.slice(0, 1) : open).map(({ i, stream, resume }) => readStream(i, stream, resume));
  const outcomes = await Promise.allSettled(reading);
  // The first failure is the cause; a sibling's later one is only its consequence.
  if (failure) throw failure.error;
  if (reading.length < open.length || outcomes.some((o) => o.status === "fulfilled" && !o.value)) return { cursor, complete: false, records: [] };
  // Evidence blocks in stream order, page by page, whatever order the pages came in: the same blobs every run.
  if (cursor.staged.length > 1) {
    const order = new Map<string, number>();
    for (const [i, stream] of streams.entries()) {
      for (let page = 0; page < (cursor.streams[i]?.pages ?? 0); page++) order.set(evidenceBlockId({ sliceStart: cursor.from, stream, page }), order.size);
    }
    cursor.staged.sort((a, b) => (order.get(a.blockId) ?? 0) - (order.get(b.blockId) ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  return { cursor, complete: true, records: inTimeOrder(streamRecords) };
}

/** Reads a slice; a resumed one that cannot go on from its cursor is read again from its start (once). */
async function readSlice(deps: PassDeps, cp: PassCheckpoint, cursor: SliceCursor, hooks: SliceHooks): Promise<SliceResult> {
  try {
    return await readSliceFrom(deps, cp, cursor, hooks);
  } catch (error) {
    if (!(error instanceof SliceRestart)) throw error;
    deps.logger?.warn("a slice cannot resume where it stopped: read again from its start", { tenant: cp.tenantId, window: cp.windowId, from: cursor.from, reason: error.message });
    Object.assign(cursor, newCursor(Date.parse(cursor.from), Date.parse(cursor.to), cursor.baseline));
    return readSliceFrom(deps, cp, cursor, hooks);
  }
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

/** A cursor's records per hour, keyed `YYYY-MM-DDTHH`. */
function hourlyOf(cursor: SliceCursor): Record<string, number> {
  const hourly: Record<string, number> = {};
  for (const [hour, n] of Object.entries(cursor.hours)) hourly[iso(Number(hour) * HOUR_MS).slice(0, 13)] = n;
  return hourly;
}

/**
 * Hands a read slice to the detectors and folds its cursor into the checkpoint (the slice leaves `reading`, `next`
 * moves to its end). `waitedSince`: when the run began waiting for this slice (the pace of the window counts the
 * wait). Returns what the detectors found in it.
 */
async function consumeSlice(deps: PassDeps, cp: PassCheckpoint, detectors: Detectors, slice: SliceResult, waitedSince: number): Promise<Detection[]> {
  const { cursor } = slice;
  for (const r of slice.records) {
    if (cursor.baseline) detectors.learn(r);
    else detectors.observe(r);
  }
  const read = cursor.streams.reduce((sum, s) => sum + s.read, 0);
  const streams = PASS_STREAMS[cp.kind];
  if (cursor.baseline) {
    cp.baselineRecords += read;
  } else {
    for (const [i, s] of cursor.streams.entries()) {
      const stream = streams[i] as ReviewStream;
      cp.recordsRead[stream] = (cp.recordsRead[stream] ?? 0) + s.read;
      cp.pagesPerStream[stream] = (cp.pagesPerStream[stream] ?? 0) + s.pages;
    }
    // Every hour of the slice was read: empty hours count 0, so a chart can tell "read, empty" from "not read".
    const hourly = hourlyOf(cursor);
    for (let h = floorHour(Date.parse(cursor.from)); h < Date.parse(cursor.to); h += HOUR_MS) {
      const key = iso(h).slice(0, 13);
      cp.hourly[key] = (cp.hourly[key] ?? 0) + (hourly[key] ?? 0);
    }
  }
  cp.unreadable += cursor.unreadable;
  cp.pages += cursor.streams.reduce((sum, s) => sum + s.pages, 0);
  for (const s of cursor.staged) {
    const entry = cp.staged[s.path] ?? { day: s.day, blocks: [], records: 0 };
    entry.blocks.push(s.blockId);
    entry.records += s.records;
    cp.staged[s.path] = entry;
  }
  cp.reading = cp.reading.filter((c) => c !== cursor);
  cp.next = cursor.to;
  if (!cursor.baseline) cp.windowMsSpent += deps.stopwatch() - waitedSince;
  // Drain first: the snapshot must not hold detections already handed out (a resume would emit them again).
  const drained = detectors.drain();
  cp.detector = detectors.snapshot();
  await commitReadyBlobs(deps, cp, false);
  return drained;
}

/** Deletes a consumed slice's spooled pages; a failure only leaves them to the spool's lifecycle rule. */
async function dropSpooled(deps: PassDeps, cp: PassCheckpoint, prefix: string): Promise<void> {
  if (!deps.spool || !cp.detect) return;
  try {
    await deps.spool.removeUnder(prefix);
  } catch (error) {
    deps.logger?.warn("spooled pages not deleted (the lifecycle rule will)", { tenant: cp.tenantId, window: cp.windowId, prefix, error: String(error) });
  }
}

/**
 * Reads slices from the checkpoint on until the window is read, the stopwatch passes `stopAtMs`, or a save says
 * stop. Returns the last checkpoint; when finished, `final` holds what closing the detectors produced (the
 * checkpoint keeps the detector state from *before* closing, so a window that grows later carries on from it).
 */
export async function advancePass(deps: PassDeps, start: PassCheckpoint, run: AdvanceOptions): Promise<AdvanceResult> {
  const cp: PassCheckpoint = structuredClone(start);
  const detectors = detectorsFor(cp, run.options.thresholds);
  const windowFromMs = Date.parse(cp.windowFrom);
  const reviewFromMs = Date.parse(cp.reviewFrom);
  const reviewToMs = Date.parse(cp.reviewTo);
  const resumed = cp.reading;
  let planned = plannedTo(cp);
  // Slices being read, in time order, each with its cursor in cp.reading. Up to `concurrency` fetch at once; a
  // finished one waits its turn (time order), one beyond that, so a slow slice does not idle the others' Graph
  // budget. Memory holds at most concurrency + 1 slices of records.
  const inFlight: Promise<SliceResult>[] = [];
  let fetching = 0;
  // Why the run ends early: halted (slices stop after their current page), stopped (a save said so), a failure.
  const end: { halted: boolean; stopped: boolean; failure?: { error: unknown } } = { halted: false, stopped: false };
  const maxBuffered = run.options.concurrency + 1;

  // Saves run one at a time, in order. Consuming a slice runs inside this chain too, so a page save never sees a
  // slice consumed whose detections are not saved yet.
  let chain: Promise<void> = Promise.resolve();
  let pageSave: Promise<void> | undefined;
  const inTurn = (step: () => Promise<boolean>): Promise<void> => {
    const turn = chain.then(async () => {
      if (end.stopped) return;
      if (!(await step())) {
        end.stopped = true;
        end.halted = true;
      }
    });
    chain = turn.catch(() => undefined);
    return turn;
  };
  const savePage = (): Promise<void> => {
    const onPage = run.onPage;
    if (!onPage) return Promise.resolve();
    // Pages read while a save waits are covered by it: it copies the checkpoint when it starts.
    pageSave ??= inTurn(() => {
      pageSave = undefined;
      return onPage(structuredClone(cp));
    });
    return pageSave;
  };
  const hooks: SliceHooks = {
    pageRead: savePage,
    halted: () => end.halted || deps.stopwatch() >= run.stopAtMs,
  };

  const launch = (cursor: SliceCursor): void => {
    const slice = readSlice(deps, cp, cursor, hooks);
    fetching++;
    // A slice may fail while an earlier one is awaited: mark it handled here, its failure surfaces when awaited.
    // Whenever one finishes, its volume sizes the next slices and the next is planned at once (not only when the
    // oldest is consumed).
    slice.then(
      (read) => {
        fetching--;
        if (!read.complete) return;
        cp.volume = learnVolume(cp.volume, Date.parse(read.cursor.from), Date.parse(read.cursor.to), hourlyOf(read.cursor));
        fill();
      },
      (error: unknown) => {
        fetching--;
        // One slice failed: the others stop after their current page, so the turn ends with their cursors saved.
        end.failure ??= { error };
        end.halted = true;
      },
    );
    inFlight.push(slice);
  };

  const planNextSlice = (): boolean => {
    const inBaseline = cp.baselineFrom !== null && planned < windowFromMs;
    const phaseEnd = inBaseline ? windowFromMs : reviewToMs;
    if (!inBaseline && planned < reviewFromMs) planned = reviewFromMs;
    if (planned >= phaseEnd) return false;
    const plan = planSlice(cp.volume, planned, phaseEnd, run.options.sliceTargetRecords);
    // A slice into hours of day not read yet may hold far more than predicted: nothing else is read beside it.
    if (plan.unknown && fetching > 0) return false;
    const cursor = newCursor(planned, plan.to, inBaseline);
    cp.reading.push(cursor);
    cp.volume = { ...cp.volume, lastSpanMs: plan.to - planned };
    launch(cursor);
    planned = plan.to;
    return true;
  };

  function fill(): void {
    while (!end.halted && fetching < run.options.concurrency && inFlight.length < maxBuffered && deps.stopwatch() < run.stopAtMs && planNextSlice()) {
      /* planned one more slice */
    }
  }

  // Slices the last run was reading go on where they stopped; then the first new slice is planned even when the
  // budget is already spent (every run makes progress: at least a page of each slice).
  for (const cursor of resumed) launch(cursor);
  if (inFlight.length === 0) planNextSlice();
  fill();
  try {
    while (inFlight.length > 0) {
      const waitedSince = deps.stopwatch();
      const slice = await (inFlight[0] as Promise<SliceResult>);
      // The run halted inside this slice: it and the slices after it stay in `reading` for the next run.
      if (!slice.complete) break;
      // Awaited just above: the oldest slice leaves the queue.
      void inFlight.shift();
      const prefix = spoolSlicePrefix(cp, slice.cursor);
      await inTurn(async () => {
        const drained = await consumeSlice(deps, cp, detectors, slice, waitedSince);
        return run.onCheckpoint(structuredClone(cp), drained, progressOf(cp, slice.cursor.baseline));
      });
      if (end.stopped) break;
      await dropSpooled(deps, cp, prefix);
      fill();
    }
  } finally {
    // Slices still being read stop after their current page; their last cursors are saved before returning.
    end.halted = true;
    await Promise.allSettled(inFlight);
    await chain;
  }
  if (end.failure) throw end.failure.error;
  if (end.stopped || Date.parse(cp.next) < reviewToMs) return { checkpoint: cp, finished: false, final: [], stopped: end.stopped };
  await commitReadyBlobs(deps, cp, true);
  const final = detectors.finish();
  cp.finished = true;
  await dropSpooled(deps, cp, spoolPrefix(cp));
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
