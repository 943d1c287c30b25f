import { AppError } from "../errors.js";
import type { BlindWindow } from "../domain/blindWindow.js";
import { contentHash } from "../domain/contentHash.js";
import { findingId, type Detection, type Finding } from "../domain/finding.js";
import { evidenceManifestPath } from "../domain/evidencePath.js";
import { SIGN_IN_PORTAL_EXPORT, retentionDays as licenceRetentionDays } from "../domain/tenant.js";
import type { EvidenceStore } from "./evidencePorts.js";
import type { ControlType, LedgerStore } from "./ledgerPorts.js";
import type { Clock, HeartbeatStore, Logger, TenantStore, WorkQueue } from "./ports.js";
import type { ControlMessage } from "./messages.js";
import { controlSummary, isClaimable, type ControlRow, type ControlRunStore, type ControlSummary, type FindingStore } from "./reviewPorts.js";
import {
  PASS_SOURCE,
  PASS_STREAMS,
  PassCheckpointSchema,
  advancePass,
  deadlineAtRisk,
  extendPass,
  followPass,
  narrowPass,
  outgrown,
  settling,
  startPass,
  type PassCheckpoint,
  type PassKind,
  type PassOptions,
} from "./reviewPass.js";
import type { ReviewSource } from "./reviewSource.js";
import type { ReviewSpool } from "./reviewSpool.js";
import type { TurnSlots } from "./turnSlots.js";

/**
 * The control runner (DESIGN.md "control"): each `controls` message is a turn for the most urgent unfinished
 * control — the one whose next unreviewed hour leaves retention first, across windows and tenants — not
 * necessarily the one the message names. A turn claims the control with a lease, runs it for at most the time
 * budget, checkpoints after every page and, when time is up, sends itself another turn. A killed worker's control
 * is taken over once its lease expires (the sweeper sends the turn).
 */

const DAY_MS = 86_400_000;
/** A turn that found no slot in its process hands its message back, visible again after this. */
const DEFER_SECONDS = 30;
/** Identity Protection keeps risk detections 90 days whatever the licence. */
const RISK_RETENTION_DAYS = 90;

export const COMPONENT = "controlRun";

export interface ControlRunDeps {
  controlRuns: ControlRunStore;
  findings: FindingStore;
  ledger: Pick<LedgerStore, "listWindows">;
  tenants: Pick<TenantStore, "get">;
  /** Graph; undefined when the settings configure none (controls then fail with that reason). */
  reviewSource: ReviewSource | undefined;
  graphNotConfigured?: string | undefined;
  evidence: EvidenceStore;
  /** Where a review's pages wait for their slice (so it checkpoints after every page). */
  spool?: ReviewSpool;
  queue: WorkQueue;
  heartbeats?: HeartbeatStore;
  clock: Clock;
  logger: Logger;
  /** Monotonic milliseconds for the time budget. */
  stopwatch: () => number;
  options: PassOptions & { budgetMs: number; leaseMs: number };
  /** Called when a control finishes (tasks are refreshed from it). */
  onFinished?: (tenantId: string, windowId: string) => Promise<void>;
  /** Turns this process runs at once (absent: no limit). */
  turnSlots?: TurnSlots;
}

export type TurnOutcome =
  | { kind: "idle" }
  /** Every slot of this process stayed busy: the message went back to the queue. */
  | { kind: "deferred" }
  | { kind: "ran"; tenantId: string; windowId: string; control: ControlType; state: ControlSummary["state"]; continued: boolean };

/** The outcome of a turn that ran `row`'s control. */
function ran(row: Pick<ControlRow, "tenantId" | "windowId" | "control">, state: ControlSummary["state"], continued = false): TurnOutcome {
  return { kind: "ran", tenantId: row.tenantId, windowId: row.windowId, control: row.control, state, continued };
}

/** Which pass does a control's work; preserve rides along with its source's review (one read serves both). */
function passFor(control: ControlType, source: string): PassKind | undefined {
  if (control === "signin-review") return "signins";
  if (control === "audit-review") return "audits";
  if (control === "risk-review") return "risks";
  if (control === "preserve") return source === "entra-audit" ? "audits" : source === "entra-signin" ? "signins" : undefined;
  return undefined;
}

const COMPANION: Partial<Record<PassKind, { review: ControlType; preserve: ControlType }>> = {
  signins: { review: "signin-review", preserve: "preserve" },
  audits: { review: "audit-review", preserve: "preserve" },
};

function companionFor(kind: PassKind): ControlType | undefined {
  return COMPANION[kind]?.review;
}

function byUrgency(a: ControlRow, b: ControlRow): number {
  if (a.urgency !== b.urgency) return a.urgency < b.urgency ? -1 : 1;
  const ka = `${a.tenantId}~${a.windowId}~${a.control}`;
  const kb = `${b.tenantId}~${b.windowId}~${b.control}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * What the team must do when Graph refuses a tenant's sign-in logs for want of Entra ID P1/P2 (a Free tenant): export
 * them from the admin center while its 7-day retention still holds them. The deadline is when the oldest hour of the
 * window still retained leaves it. Short enough for a task line.
 */
function portalExportReason(row: Pick<ControlSummary, "windowStart">, now: Date): string {
  const retentionMs = licenceRetentionDays("free") * DAY_MS;
  const oldest = Math.max(Date.parse(row.windowStart), now.getTime() - retentionMs);
  const deadline = new Date(oldest + retentionMs).toISOString().slice(0, 16);
  return `Graph gives sign-in logs only to Entra ID P1/P2 tenants (403): ${SIGN_IN_PORTAL_EXPORT} before ${deadline}Z (7-day retention)`;
}

/** Claims the most urgent claimable control for `owner`; undefined when there is none. */
async function claimNext(deps: ControlRunDeps, owner: string, now: Date): Promise<ControlRow | undefined> {
  const rows: ControlRow[] = [];
  for await (const row of deps.controlRuns.listUnfinished()) rows.push(row);
  const nowIso = now.toISOString();
  const claimable = rows
    .filter((r) => isClaimable(r, nowIso))
    // A preserve control whose source has a review is done by that review's pass (one read serves both).
    .filter((r) => !(r.control === "preserve" && rows.some((o) => o.tenantId === r.tenantId && o.windowId === r.windowId && o.control === COMPANION[passFor("preserve", r.source) ?? "risks"]?.review)))
    .sort(byUrgency);
  const leaseUntil = new Date(now.getTime() + deps.options.leaseMs);
  for (const row of claimable) {
    let candidate: ControlRow | undefined = row;
    // The ETag may have moved for a reason that leaves the row claimable (the planner marking it enqueued, or
    // refreshing its bounds): read it again and retry, rather than drop this turn and strand the control.
    for (let attempt = 0; candidate && attempt < 3; attempt++) {
      const claimed = await deps.controlRuns.claim(candidate, owner, leaseUntil, now);
      if (claimed) return claimed;
      candidate = await deps.controlRuns.get(row.tenantId, row.windowId, row.control);
      if (candidate && !isClaimable(candidate, nowIso)) candidate = undefined;
    }
  }
  return undefined;
}

/**
 * One turn of the control runner. Returns what it did; `continued` when the control is not finished and its next
 * turn was enqueued to run at once (a control that waits hands the turn on, as one that ended does).
 */
export async function runControlTurn(deps: ControlRunDeps, owner: string, message?: ControlMessage): Promise<TurnOutcome> {
  if (!deps.turnSlots) return runTurn(deps, owner);
  const waitStart = deps.stopwatch();
  const release = await deps.turnSlots.acquire();
  if (!release) {
    // The message names a control only as a hint (a turn takes the most urgent); sending it back keeps the turn.
    if (message) await deps.queue.send("controls", message, { delaySeconds: DEFER_SECONDS });
    deps.logger.info("turn deferred: every slot of this instance is busy", { slots: deps.turnSlots.size, waitedMs: deps.turnSlots.waitMs });
    return { kind: "deferred" };
  }
  try {
    // The wait counts against the turn's budget: the function's timeout started with the invocation.
    const waited = deps.stopwatch() - waitStart;
    return await runTurn({ ...deps, options: { ...deps.options, budgetMs: Math.max(0, deps.options.budgetMs - waited) } }, owner);
  } finally {
    release();
  }
}

async function runTurn(deps: ControlRunDeps, owner: string): Promise<TurnOutcome> {
  const startedAt = deps.clock.now();
  const row = await claimNext(deps, owner, startedAt);
  await deps.heartbeats?.beat({ component: COMPONENT, at: startedAt.toISOString(), expectedEverySeconds: 0, details: row ? `${row.control} ${row.windowId}` : "idle" });
  if (!row) return { kind: "idle" };
  try {
    const outcome = await runClaimed(deps, row, startedAt);
    if (outcome.kind === "ran" && !outcome.continued) await passTheTurn(deps);
    return outcome;
  } catch (error) {
    // A failure the next attempt cannot fix (a non-retryable error) fails the control with its reason; anything else
    // releases the lease so the queue's retry of this turn can claim the control again at once (the checkpoint
    // keeps what was done), and the error goes up so the retry happens.
    const latest = (await deps.controlRuns.get(row.tenantId, row.windowId, row.control).catch(() => undefined)) ?? row;
    if (error instanceof AppError && !error.retryable) {
      const reason = error.code === "graph-licence-required" ? portalExportReason(latest, deps.clock.now()) : error.message;
      deps.logger.error("control failed", { tenant: row.tenantId, window: row.windowId, control: row.control, code: error.code, reason });
      await deps.controlRuns.save(latest, { summary: { ...controlSummary(latest), state: "failed", finishedAt: deps.clock.now().toISOString(), error: reason.slice(0, 500) }, urgency: latest.urgency });
      return ran(row, "failed");
    }
    if (latest.leaseOwner === owner) {
      await deps.controlRuns.save(latest, { summary: controlSummary(latest), urgency: latest.urgency, leaseUntil: new Date(deps.clock.now().getTime() - 1) }).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * A turn that ended its control hands a turn on when planned controls are waiting. Each planned control was given
 * a turn when it was planned, but a turn can be spent on a more urgent control, and a turn that finds nothing
 * claimable ends: without this, a control could wait for the sweeper. An extra turn that finds nothing is cheap.
 */
async function passTheTurn(deps: ControlRunDeps): Promise<void> {
  for await (const r of deps.controlRuns.listUnfinished()) {
    if (r.state === "planned") {
      await deps.queue.send("controls", { v: 1, kind: "control", tenantId: r.tenantId, windowId: r.windowId, control: r.control });
      return;
    }
  }
}

async function runClaimed(deps: ControlRunDeps, claimed: ControlRow, startedAt: Date): Promise<TurnOutcome> {
  let row = claimed;
  const log = (message: string, fields: Record<string, unknown> = {}) => {
    deps.logger.info(message, { tenant: row.tenantId, window: row.windowId, control: row.control, ...fields });
  };

  const windows = await tenantWindows(deps, row.tenantId);
  const window = windowOf(windows, row);
  if (!window) {
    log("window no longer exists (merged into another): control superseded");
    await finish(deps, row, { ...controlSummary(row), state: "superseded", finishedAt: startedAt.toISOString() });
    return ran(row, "superseded");
  }

  if (row.control === "hunt-checklist") {
    // The KQL is built from the window when a task or report shows it (huntQueries): nothing to fetch.
    const summary: ControlSummary = { ...controlSummary(row), state: "done", finishedAt: startedAt.toISOString(), coverage: { ...row.coverage, reviewedFrom: window.start, reviewedTo: window.end } };
    await finish(deps, row, summary);
    await deps.onFinished?.(row.tenantId, row.windowId);
    return ran(row, "done");
  }

  const kind = passFor(row.control, row.source);
  const tenant = await deps.tenants.get(row.tenantId);
  const failure = kind === undefined ? `no Graph review exists for ${row.source}` : !tenant ? "tenant is not registered" : !deps.reviewSource ? `Graph is not configured: ${deps.graphNotConfigured ?? "no credentials"}` : undefined;
  if (failure !== undefined || kind === undefined || !tenant || !deps.reviewSource) {
    deps.logger.warn("control failed", { tenant: row.tenantId, window: row.windowId, control: row.control, reason: failure });
    await finish(deps, row, { ...controlSummary(row), state: "failed", finishedAt: startedAt.toISOString(), error: failure ?? "cannot run" });
    return ran(row, "failed");
  }

  if (row.control === "preserve" && companionFor(kind)) {
    // Its review preserved the records already (the review finished first and this row's update was lost).
    const review = await deps.controlRuns.get(row.tenantId, row.windowId, companionFor(kind) ?? "signin-review");
    if (review?.state === "done" && review.evidence) {
      await finish(deps, row, { ...controlSummary(row), state: "done", finishedAt: startedAt.toISOString(), evidence: review.evidence, coverage: review.coverage, recordsRead: review.recordsRead, pages: review.pages });
      return ran(row, "done");
    }
  }

  const retention = kind === "risks" ? RISK_RETENTION_DAYS : licenceRetentionDays(tenant.licence);
  const companion = COMPANION[kind];
  const preserveRow = companion && row.control === companion.review ? await deps.controlRuns.get(row.tenantId, row.windowId, companion.preserve) : undefined;
  const preserve = row.control === "preserve" || (preserveRow !== undefined && preserveRow.state !== "superseded");

  // Detector state only continues under the thresholds it was built with: other thresholds restart the review.
  const thresholdsKey = contentHash(deps.options.thresholds, 16);
  if (readCheckpoint(row) === undefined) {
    const detect = row.control !== "preserve";
    const live = new Set(windows.filter((w) => w.source === row.source).map((w) => w.windowId));
    const taken = await takeOverReview(deps, row, window, live, { kind, detect, preserve: preserve && kind !== "risks", thresholdsKey, retention, now: startedAt });
    if (taken === "lost") return ran(row, "running");
    if (taken) row = taken;
  }

  let current = row;
  const previous = readCheckpoint(row);
  let cp = previous;
  const sameThresholds = (row.checkpoint as { thresholds?: unknown } | undefined)?.thresholds === thresholdsKey;
  const reread = cp !== undefined && rereadsDelayed(cp, window, startedAt, deps.options.settleMs);
  if (!cp || restartsUnder(cp, window) || reread || cp.kind !== kind || !sameThresholds) {
    const privileged = kind === "signins" ? await deps.reviewSource.privilegedUserIds(row.tenantId) : [];
    cp = startPass(
      { kind, tenantId: row.tenantId, windowId: row.windowId, windowStart: window.start, windowEnd: window.end, retentionDays: retention, detect: row.control !== "preserve", preserve, privilegedUserIds: privileged },
      startedAt,
      deps.options,
    );
    // A restart (restartsUnder) names its evidence blobs apart from the earlier run's immutable ones.
    if (previous) cp = { ...cp, generation: previous.generation + 1 };
    // Saved before anything is read: what was already lost (and the baseline) is fixed when the review began, so a
    // worker killed before its first slice resumes the same review instead of starting a later one.
    const saved = await deps.controlRuns.save(row, {
      summary: { ...controlSummary(row), state: "running", startedAt: row.startedAt ?? startedAt.toISOString() },
      ...stored(cp, checkpointFindingIds(row), thresholdsKey),
      urgency: urgencyOf(cp, retention),
      leaseUntil: new Date(startedAt.getTime() + deps.options.leaseMs),
    });
    if (!saved) return ran(row, "running");
    current = saved;
    if (reread) log("the window's records were delayed and Graph has listed them now: the review reads the window again, whole", { end: window.end, readSince: previous?.startedAt });
    log("review started", { from: cp.reviewFrom, to: cp.reviewTo, lostFrom: cp.lost?.from, lostTo: cp.lost?.to, preserve: cp.preserve });
  } else {
    const narrowed = narrowPass(cp, window.end);
    if (narrowed !== cp) log("the window's end moved earlier: the review stops sooner", { end: window.end, to: narrowed.reviewTo });
    // An open window is followed a step at a time (followPass); a closed one is read on to its end.
    cp = window.end === null ? followPass(narrowed, startedAt, deps.options).cp : extendPass(narrowed, window.end, startedAt, deps.options.settleMs);
  }

  const turnStart = deps.stopwatch();
  const throttledBefore = deps.reviewSource.throttledSoFar();
  let summary: ControlSummary = { ...controlSummary(row), state: "running", startedAt: row.startedAt ?? startedAt.toISOString() };
  const findingIds = new Set<string>(checkpointFindingIds(row));
  let raisedAtRisk = findingIds.has(atRiskMarker(row));
  // Why advancePass stopped early, besides a lost lease: the window is gone, or its bounds moved under the range
  // being read (then the checkpoint saved last is handed to the next turn, which reads the window as it is now).
  const stop: { superseded: boolean; moved?: PassCheckpoint } = { superseded: false };
  const toFindings = (detections: readonly Detection[]): Finding[] =>
    detections.map((d) => ({ ...d, id: findingId(row.tenantId, row.windowId, d), tenantId: row.tenantId, windowId: row.windowId, source: PASS_SOURCE[kind], control: row.control }));

  const summarise = (c: PassCheckpoint, state: ControlSummary["state"]): ControlSummary => ({
    ...summary,
    state,
    recordsRead: c.recordsRead,
    pages: c.pages,
    throttledWaits: row.throttledWaits + Math.max(0, (deps.reviewSource?.throttledSoFar() ?? 0) - throttledBefore),
    durationMs: row.durationMs + Math.round(deps.stopwatch() - turnStart),
    coverage: { reviewedFrom: c.reviewFrom, reviewedTo: c.next < c.reviewTo ? c.next : c.reviewTo, lostFrom: c.lost?.from ?? null, lostTo: c.lost?.to ?? null },
    findings: [...findingIds].filter((id) => !id.startsWith("marker:")).length,
    hourly: c.hourly,
  });

  const result = await advancePass(
    { source: deps.reviewSource, evidence: deps.evidence, ...(deps.spool ? { spool: deps.spool } : {}), logger: deps.logger, stopwatch: deps.stopwatch },
    cp,
    {
      options: deps.options,
      stopAtMs: turnStart + deps.options.budgetMs,
      onCheckpoint: async (c, detections, progress) => {
        // A later notice may have merged this window into another (new id, new controls): stop reading for it.
        const windowNow = await findWindow(deps, row);
        if (!windowNow) {
          stop.superseded = true;
          return false;
        }
        const moved = movedUnder(c, windowNow);
        const findings = toFindings(detections);
        const now = deps.clock.now();
        const risk = deadlineAtRisk(c, retention, now.getTime());
        if (risk.atRisk && !raisedAtRisk) {
          raisedAtRisk = true;
          findings.push(...toFindings([atRiskDetection(c, risk.forecastMs, now)]));
          findingIds.add(atRiskMarker(row));
          deps.logger.warn("review will not finish before retention deletes the rest of the window", { tenant: row.tenantId, window: row.windowId, control: row.control });
        }
        if (findings.length > 0) await deps.findings.putFindings(findings);
        // The task shows the at-risk finding now, not when the review ends.
        if (risk.atRisk && findings.some((f) => f.rule === "deadline-at-risk")) await deps.onFinished?.(row.tenantId, row.windowId);
        for (const f of findings) findingIds.add(f.id);
        summary = summarise(c, "running");
        const saved = await deps.controlRuns.save(current, {
          summary,
          ...stored(c, [...findingIds], thresholdsKey),
          urgency: urgencyOf(c, retention),
          leaseUntil: new Date(now.getTime() + deps.options.leaseMs),
        });
        if (!saved) {
          deps.logger.warn("lease lost: another worker took the control over", { tenant: row.tenantId, window: row.windowId, control: row.control });
          return false;
        }
        current = saved;
        if (moved) {
          stop.moved = c;
          return false;
        }
        deps.logger.debug("slice done", { tenant: row.tenantId, window: row.windowId, control: row.control, hoursDone: progress.hoursDone, hoursTotal: progress.hoursTotal, records: progress.records });
        return true;
      },
      onPage: async (c) => {
        const saved = await deps.controlRuns.save(current, {
          summary: { ...summary, pages: c.pages + c.reading.reduce((n, s) => n + s.streams.reduce((m, st) => m + st.pages, 0), 0) },
          ...stored(c, [...findingIds], thresholdsKey),
          urgency: urgencyOf(c, retention),
          leaseUntil: new Date(deps.clock.now().getTime() + deps.options.leaseMs),
        });
        if (!saved) {
          deps.logger.warn("lease lost: another worker took the control over", { tenant: row.tenantId, window: row.windowId, control: row.control });
          return false;
        }
        current = saved;
        return true;
      },
    },
  );

  if (stop.superseded) {
    log("window merged into another while it was reviewed: control superseded");
    await finish(deps, current, { ...summary, state: "superseded", finishedAt: deps.clock.now().toISOString() });
    return ran(row, "superseded");
  }

  /** Hands the control on: the lease ends now, so the next turn (any worker) can claim it at once. */
  // After a save the store refused: the row as it is now when it is still this worker's and running (the planner moved
  // the window's bounds since the row was read), undefined when the lease was lost.
  const stillOurs = async (): Promise<ControlRow | undefined> => {
    const fresh = await deps.controlRuns.get(row.tenantId, row.windowId, row.control);
    return fresh?.state === "running" && (fresh.leaseOwner ?? "") === (current.leaseOwner ?? "") ? fresh : undefined;
  };
  // Passes the control to the next turn: at once, or (`until`) after a wait that keeps the lease, so nothing claims
  // the control meanwhile, with its turn queued for then. The planner ends a wait when it moves the window's bounds.
  const handOn = async (c: PassCheckpoint, handed: ControlSummary, why: string, fields: Record<string, unknown>, until?: Date): Promise<TurnOutcome> => {
    const now = deps.clock.now();
    const released = await deps.controlRuns.save(current, {
      summary: handed,
      ...stored(c, [...findingIds], thresholdsKey),
      urgency: urgencyOf(c, retention),
      ...(until ? { leaseUntil: until, waiting: true } : { leaseUntil: new Date(now.getTime() - 1) }),
    });
    if (!released) {
      if (!until) return ran(row, "running");
      // Refused: the lease was lost, or the planner moved the window's bounds meanwhile; then read them at once.
      const fresh = await stillOurs();
      if (!fresh) return ran(row, "running");
      current = fresh;
      return handOn(c, handed, "the window's bounds moved as the review was to wait: the next turn reads them", { start: fresh.windowStart, end: fresh.windowEnd });
    }
    const delaySeconds = until ? Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 1000) + 1) : 0;
    await deps.queue.send("controls", { v: 1, kind: "control", tenantId: row.tenantId, windowId: row.windowId, control: row.control }, ...(delaySeconds > 0 ? [{ delaySeconds }] : []));
    log(why, { ...fields, ...(until ? { until: until.toISOString() } : {}) });
    // A control that waits hands this turn on as one that ended would: its own turn comes later.
    return ran(row, "running", !until);
  };
  if (stop.moved) return handOn(stop.moved, summary, "the window's bounds moved while it was reviewed: the next turn reads them", { next: stop.moved.next });
  if (result.stopped) return ran(row, "running");
  if (!result.finished) return handOn(result.checkpoint, summary, "time budget spent: continues in the next turn", { next: result.checkpoint.next });

  // A closed window whose end moved past the range read (a later revision, or the review was taken over from the
  // window this one replaced) reads on to its new end instead of finishing: the closing detections are not written,
  // the detector state from before finish() carries on and the new hours are a new evidence segment.
  let final = result.checkpoint;
  const latest = await findWindow(deps, row);
  // A start that moved since the last slice's look (a revision widened or narrowed the window), or a risk review's
  // end: the next turn starts the review again, as it does for a move between turns.
  if (latest && restartsUnder(final, latest)) {
    const what = latest.start !== final.windowFrom ? "start" : "end";
    return handOn(final, summarise(final, "running"), `the window's ${what} moved while it was reviewed: the review starts again`, { from: latest.start, to: latest.end });
  }
  if (latest && outgrown(final, latest.end)) {
    const grown = extendPass(final, latest.end, deps.clock.now(), deps.options.settleMs);
    if (!grown.finished) return handOn(grown, summarise(grown, "running"), "the window's end moved past the range read: reads on to it", { from: grown.segmentFrom, to: grown.reviewTo });
    final = grown;
  }
  // A window that ended less than settleMs ago: Graph may still be adding its last records. The review waits until
  // they have settled; as for a grown window, the closing detections are not written and the detector state carries on.
  const settle = latest ? settling(final, latest.end, deps.options.settleMs) : undefined;
  if (settle) return handOn(final, summarise(final, "running"), "the window ended moments ago and Graph may still be adding its last records: the review reads them once settled", { reviewedTo: final.reviewTo, end: latest?.end }, settle.readyAt);
  // An open window (the incident goes on): the review follows it, a step at a time, instead of waiting for its end.
  if (latest && latest.end === null) {
    const followed = followPass(final, deps.clock.now(), deps.options);
    if (followed.cp !== final) return handOn(followed.cp, summarise(followed.cp, "running"), "the window is still open: reads on to what Graph has settled", { from: followed.cp.segmentFrom, to: followed.cp.reviewTo });
    if (followed.readyAt) return handOn(final, summarise(final, "running"), "the window is still open: the review reads its next hours once Graph has settled them", { reviewedTo: final.reviewTo }, followed.readyAt);
  }

  const closing = toFindings(result.final);
  if (final.lost) closing.push(...toFindings([evidenceLostDetection(final, tenant.licence, retention)]));
  if (closing.length > 0) await deps.findings.putFindings(closing);
  for (const f of closing) findingIds.add(f.id);

  let evidence: ControlSummary["evidence"];
  if (final.preserve && final.reviewFrom < final.reviewTo) {
    const manifestPath = evidenceManifestPath({ tenantId: row.tenantId, source: PASS_SOURCE[kind], windowId: row.windowId, from: final.reviewFrom, to: final.reviewTo });
    const reviewSource = deps.reviewSource;
    await deps.evidence.writeManifest(manifestPath, {
      v: 1,
      tenantId: row.tenantId,
      windowId: row.windowId,
      source: PASS_SOURCE[kind],
      window: { start: window.start, end: window.end },
      reviewed: { from: final.reviewFrom, to: final.reviewTo },
      createdAt: deps.clock.now().toISOString(),
      streams: PASS_STREAMS[kind].map((stream) => {
        const request = reviewSource.describe(stream, new Date(final.reviewFrom), new Date(final.reviewTo), undefined);
        // The range is read in time slices: the filter names the whole range; each request narrowed it to one slice.
        return { stream, ...request, pages: final.pagesPerStream[stream] ?? 0, records: final.recordsRead[stream] ?? 0 };
      }),
      blobs: [...final.committed].sort((a, b) => (a.path < b.path ? -1 : 1)),
      totals: { blobs: final.committed.length, records: final.committed.reduce((n, b) => n + b.records, 0), bytes: final.committed.reduce((n, b) => n + b.bytes, 0) },
    });
    evidence = { manifestPath, blobs: final.committed.length, records: final.committed.reduce((n, b) => n + b.records, 0) };
  }

  const finishedAt = deps.clock.now().toISOString();
  const done: ControlSummary = { ...summarise(final, "done"), finishedAt, ...(evidence ? { evidence } : {}) };
  const saved = await deps.controlRuns.save(current, { summary: done, ...stored(final, [...findingIds], thresholdsKey), urgency: urgencyOf(final, retention) });
  if (!saved) {
    // Refused: the lease was lost, or the planner moved the window's bounds after the read above (the row is still
    // ours and running). Then the next turn reads the window as it is now, on from this checkpoint.
    const fresh = await stillOurs();
    if (!fresh) return ran(row, "running");
    current = fresh;
    return handOn(final, summarise(final, "running"), "the window's bounds moved as the review finished: the next turn reads them", { start: fresh.windowStart, end: fresh.windowEnd });
  }
  if (preserveRow && evidence) {
    // The review's pass preserved the records: its preserve control is done with it.
    const fresh = await deps.controlRuns.get(row.tenantId, row.windowId, preserveRow.control);
    if (fresh) {
      const preserveSummary: ControlSummary = { ...controlSummary(fresh), state: "done", startedAt: done.startedAt ?? finishedAt, finishedAt, recordsRead: done.recordsRead, pages: done.pages, throttledWaits: done.throttledWaits, durationMs: done.durationMs, coverage: done.coverage, findings: 0, evidence };
      await deps.controlRuns.save(fresh, { summary: preserveSummary, urgency: fresh.urgency });
    }
  }
  log("control done", { records: Object.values(final.recordsRead).reduce((a, b) => a + b, 0), findings: done.findings, lost: final.lost !== null });
  await deps.onFinished?.(row.tenantId, row.windowId);
  return ran(row, "done");
}

/**
 * Whether the review must start again under the window's bounds: its start moved (the detectors need the earlier
 * hours first, or must not have seen the dropped ones), or it is a risk review whose end moved (which detections it
 * counts depends on the end: one made after it counts only for activity before it; a risk review is a few pages).
 */
function restartsUnder(cp: PassCheckpoint, window: Pick<BlindWindow, "start" | "end">): boolean {
  return window.start !== cp.windowFrom || (cp.kind === "risks" && cp.windowEnd !== window.end);
}

/**
 * Whether a pass over a `delay` window must be read again, whole: Graph lists a delayed record only when the delay is
 * over, which is the window's end (plus the settle time, as for any record), so a pass that began before then may have
 * read the window's hours without their late records, and checked nothing in them. Once the end has settled, a pass
 * begun earlier (or of an older version, which does not say when it began) gives way to one that reads what Graph
 * holds now; the findings both make are the same rows where they agree. A `loss` window's records are not late in
 * Graph (the loss is downstream of it, or for good): a pass of it is never read again for this. Checked as a turn begins, which is enough: a pass reads up to the end only
 * in a turn begun after the end has settled (before that it waits, see settling), so none is done before its re-read.
 */
function rereadsDelayed(cp: PassCheckpoint, window: Pick<BlindWindow, "effect" | "end">, now: Date, settleMs: number): boolean {
  if (window.effect !== "delay" || window.end === null) return false;
  const settled = Date.parse(window.end) + settleMs;
  return now.getTime() >= settled && (cp.startedAt === undefined || Date.parse(cp.startedAt) < settled);
}

/**
 * Whether the window's bounds moved under the range a pass reads: the review must start again (restartsUnder), or
 * the end moved before that range (the pass narrows). A finished pass is moved only by what restarts it.
 */
function movedUnder(cp: PassCheckpoint, window: Pick<BlindWindow, "start" | "end">): boolean {
  return restartsUnder(cp, window) || narrowPass(cp, window.end) !== cp;
}

/** The tenant's windows as the ledger holds them now. */
async function tenantWindows(deps: ControlRunDeps, tenantId: string): Promise<BlindWindow[]> {
  const out: BlindWindow[] = [];
  for await (const w of deps.ledger.listWindows({ tenantId })) out.push(w);
  return out;
}

function windowOf(windows: readonly BlindWindow[], row: ControlRow): BlindWindow | undefined {
  return windows.find((w) => w.windowId === row.windowId && w.source === row.source);
}

async function findWindow(deps: ControlRunDeps, row: ControlRow): Promise<BlindWindow | undefined> {
  return windowOf(await tenantWindows(deps, row.tenantId), row);
}

interface TakeOver {
  kind: PassKind;
  detect: boolean;
  preserve: boolean;
  thresholdsKey: string;
  retention: number;
  now: Date;
}

/**
 * A review for a window that replaced another — a later notice joined it, so its id (derived from its notices)
 * changed — goes on from the replaced window's review instead of reading Graph again from the start: what a review
 * reads and finds depends on the tenant, the pass, the window's start and the thresholds, never on which notices
 * named the window. The predecessor is the same control of the same tenant and source whose window no longer
 * exists and started at the same instant, run under the same thresholds (a closed window does not hand its review
 * to an open one: an open window is reviewed up to when its review began, which a fresh start does better).
 *
 * The hand-over is one conditional write to the predecessor's row (superseded, unless done, and named in its
 * checkpoint as handed to this window): a worker still reading for it loses its lease at its next save and stops (what
 * it read after the checkpoint taken over is read again, as after a kill), and no other window takes the same review.
 * Then the predecessor's findings are copied under this window's id and this row takes the checkpoint and detector
 * state. A crash in between repeats the hand-over to the same window. The
 * review keeps its spool and evidence names (they carry the first window's id); the manifest is this window's.
 * `live`: the ids of the tenant's windows of this source in the ledger. Returns the row holding the review, "lost" when
 * this worker's lease went meanwhile, undefined when nothing can be taken over.
 */
async function takeOverReview(deps: ControlRunDeps, row: ControlRow, window: Pick<BlindWindow, "start" | "end">, live: ReadonlySet<string>, want: TakeOver): Promise<ControlRow | "lost" | undefined> {
  const candidates: ControlSummary[] = [];
  for await (const c of deps.controlRuns.listControls(row.tenantId)) {
    if (c.source !== row.source || c.control !== row.control || c.windowId === row.windowId || live.has(c.windowId)) continue;
    if (c.windowStart !== window.start || c.state === "failed" || (window.end === null && c.windowEnd !== null)) continue;
    candidates.push(c);
  }
  // The furthest read first (a finished review, then the latest hour reviewed).
  const reach = (c: ControlSummary) => (c.state === "done" ? "~" : (c.coverage.reviewedTo ?? ""));
  candidates.sort((a, b) => (reach(a) > reach(b) ? -1 : reach(a) < reach(b) ? 1 : a.windowId < b.windowId ? -1 : 1));
  const nowIso = want.now.toISOString();
  for (const candidate of candidates) {
    const fenced = await fence(deps, row, candidate, window, want);
    if (!fenced) continue;
    const { from, cp } = fenced;
    const ids = checkpointFindingIds(from);
    const wanted = new Set(ids);
    const renamed = new Map<string, string>();
    const carried: Finding[] = [];
    for await (const f of deps.findings.listFindings(row.tenantId, from.windowId)) {
      if (f.control !== row.control || !wanted.has(f.id)) continue;
      const id = findingId(row.tenantId, row.windowId, f);
      renamed.set(f.id, id);
      carried.push({ ...f, id, windowId: row.windowId });
    }
    if (carried.length > 0) await deps.findings.putFindings(carried);
    // Markers (at-risk raised) carry over as they are; a finding not found under the old window is not claimed.
    const findingIds = ids.flatMap((id) => (id.startsWith("marker:") ? [id] : (renamed.get(id) ?? [])));
    const taken = await deps.controlRuns.save(row, {
      summary: {
        ...controlSummary(row),
        state: "running",
        startedAt: from.startedAt ?? row.startedAt ?? nowIso,
        recordsRead: from.recordsRead,
        pages: from.pages,
        throttledWaits: from.throttledWaits,
        durationMs: from.durationMs,
        coverage: from.coverage,
        findings: carried.length,
        ...(from.hourly ? { hourly: from.hourly } : {}),
      },
      ...stored(cp, findingIds, want.thresholdsKey),
      urgency: urgencyOf(cp, want.retention),
      leaseUntil: new Date(want.now.getTime() + deps.options.leaseMs),
    });
    if (!taken) return "lost";
    deps.logger.info("review taken over from the window this one replaced", { tenant: row.tenantId, window: row.windowId, control: row.control, from: from.windowId, next: cp.next, findings: carried.length });
    return taken;
  }
  return undefined;
}

/**
 * Marks the predecessor's row as handed to `row`'s window (superseded unless done), conditional on its ETag; read
 * again and retried when its worker wrote in between (it may have finished meanwhile). The row as fenced and its
 * checkpoint, or undefined when it cannot be taken over.
 */
async function fence(deps: ControlRunDeps, row: ControlRow, candidate: ControlSummary, window: Pick<BlindWindow, "start">, want: TakeOver): Promise<{ from: ControlRow; cp: PassCheckpoint } | undefined> {
  const nowIso = want.now.toISOString();
  for (let attempt = 0; attempt < 3; attempt++) {
    const from = await deps.controlRuns.get(row.tenantId, candidate.windowId, candidate.control);
    const saved = from?.checkpoint as { handedTo?: unknown; thresholds?: unknown } | undefined;
    const cp = from && readCheckpoint(from);
    if (!from || !saved || !cp || saved.thresholds !== want.thresholdsKey || from.state === "failed") return undefined;
    if (cp.kind !== want.kind || cp.windowFrom !== window.start || cp.detect !== want.detect || cp.preserve !== want.preserve) return undefined;
    if (saved.handedTo !== undefined && saved.handedTo !== row.windowId) return undefined;
    const summary: ControlSummary = from.state === "done" ? controlSummary(from) : { ...controlSummary(from), state: "superseded", finishedAt: from.finishedAt ?? nowIso };
    if (await deps.controlRuns.save(from, { summary, checkpoint: { ...saved, handedTo: row.windowId }, urgency: from.urgency })) return { from, cp };
  }
  return undefined;
}

async function finish(deps: ControlRunDeps, row: ControlRow, summary: ControlSummary): Promise<void> {
  await deps.controlRuns.save(row, { summary, urgency: row.urgency });
}

/**
 * What a save stores of a pass: the checkpoint without the detector state, which goes apart (the store writes it
 * only when it changed: it changes per slice, the checkpoint per page).
 */
function stored(cp: PassCheckpoint, findingIds: string[], thresholds: string): { checkpoint: unknown; detector: unknown } {
  return { checkpoint: { pass: { ...cp, detector: null }, findingIds, thresholds }, detector: cp.detector ?? null };
}

function readCheckpoint(row: ControlRow): PassCheckpoint | undefined {
  const saved = row.checkpoint as { pass?: unknown } | undefined;
  if (!saved || typeof saved !== "object" || !("pass" in saved)) return undefined;
  const parsed = PassCheckpointSchema.safeParse(saved.pass);
  if (!parsed.success) return undefined;
  // Checkpoints of older versions hold the detector state inside the pass.
  return row.detector !== undefined ? { ...parsed.data, detector: row.detector } : parsed.data;
}

function checkpointFindingIds(row: ControlRow): string[] {
  const stored = row.checkpoint as { findingIds?: unknown } | undefined;
  return stored && Array.isArray(stored.findingIds) ? stored.findingIds.filter((x): x is string => typeof x === "string") : [];
}

function atRiskMarker(row: ControlRow): string {
  return `marker:deadline-at-risk:${row.control}`;
}

/** The next unreviewed hour's expiry: rows are claimed in this order. */
function urgencyOf(cp: PassCheckpoint, retentionDays: number): string {
  return new Date(Date.parse(cp.next) + retentionDays * DAY_MS).toISOString();
}

function atRiskDetection(cp: PassCheckpoint, forecastMs: number | null, now: Date): Detection {
  const hours = forecastMs === null ? "unknown" : `${(forecastMs / 3_600_000).toFixed(1)} h`;
  return {
    rule: "deadline-at-risk",
    severity: "high",
    subject: { kind: "tenant", id: cp.tenantId },
    explanation: `At the measured pace the review of ${cp.reviewFrom} → ${cp.reviewTo} needs ${hours} more, and part of the window will leave retention before it is read: the oldest hours are read (and preserved) first; consider exporting the rest by other means now.`,
    firstSeen: now.toISOString(),
    lastSeen: now.toISOString(),
    count: 1,
    sampleIds: [],
    ipAddresses: [],
  };
}

function evidenceLostDetection(cp: PassCheckpoint, licence: string, retentionDays: number): Detection {
  const lost = cp.lost ?? { from: cp.windowFrom, to: cp.windowFrom };
  const hours = Math.round((Date.parse(lost.to) - Date.parse(lost.from)) / 3_600_000);
  return {
    rule: "evidence-lost",
    severity: "high",
    subject: { kind: "tenant", id: cp.tenantId },
    explanation: `${String(hours)} hours of the blind window (${lost.from} → ${lost.to}) had already left Entra's ${String(retentionDays)}-day retention (${licence} licence) when the review began: those ${PASS_SOURCE[cp.kind]} records are gone for good and could not be reviewed or preserved.`,
    firstSeen: lost.from,
    lastSeen: lost.to,
    count: 1,
    sampleIds: [],
    ipAddresses: [],
  };
}
