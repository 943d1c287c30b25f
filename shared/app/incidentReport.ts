import { assessNotice } from "../domain/assessNotice.js";
import type { BlindWindow } from "../domain/blindWindow.js";
import { CONTROLS_BY_SOURCE, preservingReview } from "../domain/controlPlan.js";
import { compareFindings, distinctFindings, SEVERITIES, type Finding, type Severity } from "../domain/finding.js";
import {
  hourKey,
  hourStart,
  hoursTouched,
  HOUR_MS,
  IncidentReportSchema,
  signInCharts,
  type IncidentReport,
  type ReportControl,
  type ReportLostEvidence,
  type ReportNotice,
  type ReportTask,
} from "../domain/incidentReportModel.js";
import { LOG_SOURCE_IDS, type LogSourceId } from "../domain/logSource.js";
import { toInstant } from "../domain/instant.js";
import { noticeKey } from "../domain/notice.js";
import { retentionDays } from "../domain/tenant.js";
import { NotFoundError } from "../errors.js";
import { CONTROL_TYPES, type LedgerStore } from "./ledgerPorts.js";
import type { NoticeStore, TenantStore } from "./ports.js";
import type { ControlStore, ControlSummary, FindingStore } from "./reviewPorts.js";
import type { HuntQueriesFor } from "./taskHuntQueries.js";
import type { DeliveryStore, TaskStore } from "./taskPorts.js";

export { IncidentReportSchema, type IncidentReport } from "../domain/incidentReportModel.js";

/** A task as the report shows it: status, who acknowledged or closed it, and where it was delivered. */
export interface ReportTaskItem {
  id: string;
  windowId: string;
  title: string;
  status: "open" | "acknowledged" | "done";
  dueDate: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  doneBy?: string;
  doneAt?: string;
  deliveries: { channel: string; state: string; sentAt?: string }[];
}

/**
 * The report's own port onto the Tasks and Deliveries tables (an adapter over the task store fits it). Optional:
 * without it the report says that no tasks are recorded.
 */
export interface ReportTaskSource {
  /** The tasks of one tenant, and of no other. */
  listTasks(tenantId: string): AsyncIterable<ReportTaskItem>;
}

/**
 * The report's task port over the Tasks and Deliveries stores: a tenant's tasks (its partition only; a row of another
 * tenant is dropped) with each channel's delivery state. Escalations (warn-72h, warn-24h, overdue) are listed as
 * deliveries too: that a reminder went out belongs in the record.
 */
export function reportTasksFromStores(tasks: Pick<TaskStore, "listTenant">, deliveries: Pick<DeliveryStore, "listForTask">): ReportTaskSource {
  return {
    async *listTasks(tenantId: string): AsyncIterable<ReportTaskItem> {
      for await (const { task } of tasks.listTenant(tenantId)) {
        if (task.tenantId !== tenantId) continue;
        const sent = await deliveries.listForTask(task.id);
        yield {
          id: task.id,
          windowId: task.windowId,
          title: task.title,
          status: task.status,
          dueDate: task.dueDate,
          ...(task.acknowledgedBy !== undefined ? { acknowledgedBy: task.acknowledgedBy } : {}),
          ...(task.acknowledgedAt !== undefined ? { acknowledgedAt: task.acknowledgedAt } : {}),
          ...(task.doneBy !== undefined ? { doneBy: task.doneBy } : {}),
          ...(task.doneAt !== undefined ? { doneAt: task.doneAt } : {}),
          deliveries: sent
            .filter((d) => d.tenantId === tenantId)
            .map((d) => ({ channel: d.key, state: d.state, ...(d.sentAt !== undefined ? { sentAt: d.sentAt } : {}) })),
        };
      }
    },
  };
}

export interface IncidentReportDeps {
  notices: Pick<NoticeStore, "listNotices" | "listRevisions">;
  tenants: Pick<TenantStore, "get">;
  ledger: Pick<LedgerStore, "listWindows">;
  controls: Pick<ControlStore, "listControls">;
  findings: Pick<FindingStore, "listFindings">;
  tasks?: ReportTaskSource | undefined;
  /** KQL hunts for the sources Graph cannot replay (shared/domain/huntQueries.ts); none without it. */
  huntQueries?: HuntQueriesFor | undefined;
}

/** Identity Protection keeps risk detections 90 days whatever the licence (as the control runner assumes). */
const RISK_RETENTION_DAYS = 90;
const REVIEW_CONTROLS = new Set(["signin-review", "audit-review", "risk-review"]);

async function collect<T>(items: AsyncIterable<T>, keep: (item: T) => boolean = () => true): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) if (keep(item)) out.push(item);
  return out;
}

/** Instants in one format (`…00.000Z`), as the ledger keeps them. */
const instantOrNull = (value: string | null): string | null => (value === null ? null : (toInstant(value) ?? value));

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}

/**
 * Builds the incident report of one tenant from what the pipeline stored: its notices (only those whose processing
 * outcome lists the tenant) with every revision, its blind windows, the controls run for them with their coverage,
 * the evidence retention took, findings, hunt queries for the sources Graph cannot replay, and tasks. Rows of any
 * other tenant are dropped even if a store returned them, so a report never carries another tenant's data or id.
 * `nowIso` is the report's time (open windows end there).
 */
export async function buildIncidentReport(deps: IncidentReportDeps, tenantId: string, nowIso: string): Promise<IncidentReport> {
  const tenant = await deps.tenants.get(tenantId);
  if (!tenant || tenant.tenantId !== tenantId) throw new NotFoundError(`tenant ${tenantId} is not registered`);
  const nowMs = Date.parse(nowIso);
  const retention = retentionDays(tenant.licence);

  const windows = (await collect(deps.ledger.listWindows({ tenantId }), (w) => w.tenantId === tenantId)).sort(
    (a, b) => byString(a.start, b.start) || LOG_SOURCE_IDS.indexOf(a.source) - LOG_SOURCE_IDS.indexOf(b.source) || byString(a.windowId, b.windowId),
  );
  const controls = (await collect(deps.controls.listControls(tenantId), (c) => c.tenantId === tenantId)).sort(
    (a, b) => byString(a.windowStart, b.windowStart) || LOG_SOURCE_IDS.indexOf(a.source) - LOG_SOURCE_IDS.indexOf(b.source) || CONTROL_TYPES.indexOf(a.control) - CONTROL_TYPES.indexOf(b.control) || byString(a.windowId, b.windowId),
  );
  // A window re-keyed by a later notice is gone from the ledger; its successor took its review over (or read again),
  // so figures count the controls of the windows that exist, and each detection once (distinctFindings). Every
  // control that ran is still listed.
  const live = new Set(windows.map((w) => w.windowId));
  const counted = controls.filter((c) => live.has(c.windowId));
  const findings = distinctFindings(await collect(deps.findings.listFindings(tenantId), (f) => f.tenantId === tenantId), live).sort(compareFindings);
  const notices = await tenantNotices(deps, tenantId);

  const windowEnd = (w: { end: string | null }): number => (w.end === null ? nowMs : Date.parse(w.end));
  const evidenceLost = lostEvidence(counted, findings, retention);

  const reportControls: ReportControl[] = controls.map((c) => ({
    windowId: c.windowId,
    source: c.source,
    control: c.control,
    state: c.state,
    startedAt: c.startedAt ?? null,
    finishedAt: c.finishedAt ?? null,
    recordsRead: { ...c.recordsRead },
    records: sum(Object.values(c.recordsRead)),
    pages: c.pages,
    throttledWaits: c.throttledWaits,
    durationMs: c.durationMs,
    coverage: { ...c.coverage },
    hoursRead: c.hourly ? Object.keys(c.hourly).length : null,
    hoursCovered: c.coverage.reviewedFrom && c.coverage.reviewedTo ? hoursTouched(Date.parse(c.coverage.reviewedFrom), Date.parse(c.coverage.reviewedTo)) : 0,
    hoursLost: c.coverage.lostFrom && c.coverage.lostTo ? hoursTouched(Date.parse(c.coverage.lostFrom), Date.parse(c.coverage.lostTo)) : 0,
    findings: c.findings,
    evidence: c.evidence ? { ...c.evidence } : null,
    error: c.error ?? null,
    preservedBy: preservedByOf(c, controls),
  }));

  const reviews = counted.filter((c) => REVIEW_CONTROLS.has(c.control));
  const sources = LOG_SOURCE_IDS.filter((s) => windows.some((w) => w.source === s) || controls.some((c) => c.source === s)).map((source) => {
    const streams: Record<string, number> = {};
    for (const c of reviews.filter((r) => r.source === source)) {
      for (const [stream, n] of Object.entries(c.recordsRead)) streams[stream] = (streams[stream] ?? 0) + n;
    }
    const sourceWindows = windows.filter((w) => w.source === source);
    return {
      source,
      records: sum(Object.values(streams)),
      streams,
      hoursBlind: sum(sourceWindows.map((w) => hoursTouched(Date.parse(w.start), windowEnd(w)))),
      hoursRead: sum(reviews.filter((r) => r.source === source).map((r) => Object.keys(r.hourly ?? {}).length)),
      hoursLost: sum(evidenceLost.filter((e) => e.source === source).map((e) => e.hours)),
    };
  });

  const signInWindows = windows.filter((w) => w.source === "entra-signin");
  const charts = signInCharts(
    signInWindows,
    counted.filter((c) => c.control === "signin-review").map((c) => ({ hourly: c.hourly ?? {}, lostFrom: c.coverage.lostFrom, lostTo: c.coverage.lostTo })),
    nowMs,
  );

  const manifestFor = (f: Finding): string | null => {
    if (f.rule === "evidence-lost" || f.rule === "deadline-at-risk") return null;
    const candidates = controls.filter((c) => c.windowId === f.windowId && c.source === f.source && c.evidence);
    const preserve = candidates.find((c) => c.control === "preserve") ?? candidates[0];
    return preserve?.evidence?.manifestPath ?? null;
  };

  const huntQueries = deps.huntQueries
    ? windows
        .filter((w) => CONTROLS_BY_SOURCE[w.source].includes("hunt-checklist"))
        .flatMap((w) =>
          (deps.huntQueries?.({ tenantId, source: w.source, start: w.start, end: w.end }, nowIso) ?? []).map((q) => ({
            windowId: w.windowId,
            source: w.source,
            id: q.id,
            product: q.product,
            runIn: q.runIn ?? null,
            title: q.title,
            why: q.why,
            kql: q.kql,
          })),
        )
    : [];

  const tasks = deps.tasks ? (await collect(deps.tasks.listTasks(tenantId))).map(toReportTask).sort((a, b) => byString(a.dueDate, b.dueDate) || byString(a.id, b.id)) : null;

  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity]++;
  const lostHoursBySource: Partial<Record<LogSourceId, number>> = {};
  for (const e of evidenceLost) lostHoursBySource[e.source] = (lostHoursBySource[e.source] ?? 0) + e.hours;

  const report: IncidentReport = {
    version: 1,
    generatedAt: new Date(nowMs).toISOString(),
    tenant: { tenantId, name: tenant.name, licence: tenant.licence, retentionDays: retention },
    summary: {
      windows: windows.length,
      blindHours: sum(windows.map((w) => hoursTouched(Date.parse(w.start), windowEnd(w)))),
      recordsRead: sum(sources.map((s) => s.records)),
      lostHours: sum(evidenceLost.map((e) => e.hours)),
      lostHoursBySource,
      findings: findings.length,
      findingsBySeverity: bySeverity,
      tasks: tasks
        ? { open: tasks.filter((t) => t.status === "open").length, acknowledged: tasks.filter((t) => t.status === "acknowledged").length, done: tasks.filter((t) => t.status === "done").length }
        : null,
    },
    notices,
    windows: windows.map((w) => ({
      windowId: w.windowId,
      source: w.source,
      start: w.start,
      end: w.end,
      effect: w.effect,
      status: w.status,
      reviewDeadline: w.reviewDeadline,
      notices: [...w.notices],
      hours: hoursTouched(Date.parse(w.start), windowEnd(w)),
    })),
    evidenceLost,
    controls: reportControls,
    sources,
    coverageByDay: coverageByDay(windows, reviews, evidenceLost, nowMs),
    charts,
    findings: findings.map((f) => ({
      id: f.id,
      windowId: f.windowId,
      rule: f.rule,
      severity: f.severity,
      source: f.source,
      control: f.control,
      subject: { ...f.subject },
      explanation: f.explanation,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      count: f.count,
      sampleIds: [...f.sampleIds],
      ipAddresses: [...f.ipAddresses],
      evidenceManifest: manifestFor(f),
    })),
    huntQueries,
    tasks,
  };
  // The model is the contract of both renderers and of `report --json`: check it as it leaves.
  return IncidentReportSchema.parse(report);
}

/** Notices whose processing outcome lists the tenant, with every stored revision (oldest publication first). */
async function tenantNotices(deps: IncidentReportDeps, tenantId: string): Promise<ReportNotice[]> {
  const records = await collect(deps.notices.listNotices({}), (n) => n.outcome?.tenants.includes(tenantId) === true);
  const out: ReportNotice[] = [];
  for (const record of records) {
    const revisions = (await collect(deps.notices.listRevisions(record.source, record.id)))
      .filter((r) => r.notice.source === record.source && r.notice.id === record.id)
      .sort((a, b) => byString(a.notice.publishedAt, b.notice.publishedAt) || byString(a.notice.revision, b.notice.revision));
    const latest = revisions[revisions.length - 1];
    out.push({
      key: noticeKey(record),
      source: record.source,
      id: record.id,
      title: latest?.notice.title ?? record.title,
      revisions: revisions.map(({ notice, receivedAt }) => {
        // Each revision on its own: what it stated, not the fold of all revisions (that is the window).
        const assessment = assessNotice(notice);
        return {
          revision: notice.revision,
          publishedAt: notice.publishedAt,
          receivedAt,
          title: notice.title,
          stage: notice.stage ?? null,
          synthetic: notice.synthetic,
          relevant: assessment.relevant,
          effect: assessment.effect,
          sources: assessment.sources,
          statedWindow: { start: instantOrNull(assessment.window.start), end: instantOrNull(assessment.window.end) },
        };
      }),
    });
  }
  return out.sort((a, b) => byString(a.revisions[0]?.publishedAt ?? "", b.revisions[0]?.publishedAt ?? "") || byString(a.key, b.key));
}

/** The review preserving a planned preserve control's records as it reads (see preservingReview), for the report. */
function preservedByOf(c: ControlSummary, controls: readonly ControlSummary[]): ReportControl["preservedBy"] {
  const review = preservingReview(c, controls);
  return review ? { control: review.control, reviewedTo: review.coverage.reviewedTo ?? null } : null;
}

/**
 * Evidence gone for good, per window and source: the lost range a review recorded (its preserve companion records the
 * same range; counted once), with the `evidence-lost` finding's explanation. A finding without such a control still
 * counts (its first and last sighting are the lost range).
 */
function lostEvidence(controls: readonly ControlSummary[], findings: readonly Finding[], licenceRetention: number): ReportLostEvidence[] {
  const entries = new Map<string, ReportLostEvidence>();
  const retentionOf = (source: LogSourceId): number => (source === "entra-risk" ? RISK_RETENTION_DAYS : licenceRetention);
  const ordered = [...controls].sort((a, b) => Number(REVIEW_CONTROLS.has(b.control)) - Number(REVIEW_CONTROLS.has(a.control)));
  for (const c of ordered) {
    const { lostFrom, lostTo } = c.coverage;
    if (lostFrom === null || lostTo === null) continue;
    const key = `${c.windowId}~${c.source}`;
    if (entries.has(key)) continue;
    const hours = hoursTouched(Date.parse(lostFrom), Date.parse(lostTo));
    if (hours === 0) continue;
    entries.set(key, { source: c.source, windowId: c.windowId, from: lostFrom, to: lostTo, hours, retentionDays: retentionOf(c.source), explanation: null });
  }
  for (const f of findings.filter((x) => x.rule === "evidence-lost")) {
    const key = `${f.windowId}~${f.source}`;
    const entry = entries.get(key);
    if (entry) {
      entry.explanation ??= f.explanation;
      continue;
    }
    const hours = hoursTouched(Date.parse(f.firstSeen), Date.parse(f.lastSeen));
    if (hours > 0) entries.set(key, { source: f.source, windowId: f.windowId, from: f.firstSeen, to: f.lastSeen, hours, retentionDays: retentionOf(f.source), explanation: f.explanation });
  }
  return [...entries.values()].sort((a, b) => LOG_SOURCE_IDS.indexOf(a.source) - LOG_SOURCE_IDS.indexOf(b.source) || byString(a.from, b.from));
}

/** Per UTC day and reviewed source: blind hours, hours read, hours lost, records read (from the reviews' hourly maps). */
function coverageByDay(windows: readonly BlindWindow[], reviews: readonly ControlSummary[], lost: readonly ReportLostEvidence[], nowMs: number): IncidentReport["coverageByDay"] {
  type Day = IncidentReport["coverageByDay"][number];
  const rows = new Map<string, Day>();
  const row = (day: string, source: LogSourceId): Day => {
    const key = `${day}~${source}`;
    let r = rows.get(key);
    if (!r) {
      r = { day, source, hoursBlind: 0, hoursRead: 0, hoursLost: 0, records: 0 };
      rows.set(key, r);
    }
    return r;
  };
  const reviewedSources = new Set(reviews.map((r) => r.source));
  for (const w of windows.filter((x) => reviewedSources.has(x.source))) {
    const from = Math.floor(Date.parse(w.start) / HOUR_MS) * HOUR_MS;
    const to = w.end === null ? nowMs : Date.parse(w.end);
    for (let h = from; h < to; h += HOUR_MS) row(hourKey(h).slice(0, 10), w.source).hoursBlind++;
  }
  const hourly = new Map<string, Map<string, number>>();
  for (const r of reviews) {
    const perSource = hourly.get(r.source) ?? new Map<string, number>();
    hourly.set(r.source, perSource);
    for (const [key, n] of Object.entries(r.hourly ?? {})) perSource.set(key, Math.max(perSource.get(key) ?? 0, n));
  }
  for (const [source, perSource] of hourly) {
    for (const [key, n] of perSource) {
      if (Number.isNaN(hourStart(key))) continue;
      const r = row(key.slice(0, 10), source as LogSourceId);
      r.hoursRead++;
      r.records += n;
    }
  }
  for (const e of lost) {
    const from = Math.floor(Date.parse(e.from) / HOUR_MS) * HOUR_MS;
    for (let h = from; h < Date.parse(e.to); h += HOUR_MS) row(hourKey(h).slice(0, 10), e.source).hoursLost++;
  }
  return [...rows.values()].sort((a, b) => byString(a.day, b.day) || LOG_SOURCE_IDS.indexOf(a.source) - LOG_SOURCE_IDS.indexOf(b.source));
}

function toReportTask(t: ReportTaskItem): ReportTask {
  return {
    id: t.id,
    windowId: t.windowId,
    title: t.title,
    status: t.status,
    dueDate: t.dueDate,
    acknowledgedBy: t.acknowledgedBy ?? null,
    acknowledgedAt: t.acknowledgedAt ?? null,
    doneBy: t.doneBy ?? null,
    doneAt: t.doneAt ?? null,
    deliveries: t.deliveries.map((d) => ({ channel: d.channel, state: d.state, sentAt: d.sentAt ?? null })),
  };
}
