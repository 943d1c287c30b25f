import { z } from "zod";
import { SEVERITIES, SUBJECT_KINDS, RuleIdSchema } from "./finding.js";
import { LogSourceIdSchema, type LogSourceId } from "./logSource.js";
import { NoticeSourceSchema } from "./notice.js";
import { LOG_SOURCE_NAMES, TASK_STATUSES, formatUtc } from "./task.js";
import { LicenceSchema } from "./tenant.js";

/**
 * The incident report of one tenant (issue 7): what the pipeline recorded about its blind windows, as data. The use
 * case (shared/app/incidentReport.ts) fills it from the stores; the renderers (reportHtml.ts, reportMarkdown.ts) turn
 * it into pages. It lives in the domain because the renderers, which are pure, need its type; every figure in it comes
 * from a store, none is computed by a renderer.
 *
 * Tenant isolation: a report holds one tenant's data only, and never another tenant's id (notices concern several
 * tenants; their tenant and subscription lists are left out).
 */

export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `2024-09-02T23` — the hour keys of `ControlSummary.hourly`. */
export const HourKeySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/u);

export function hourKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

export function hourStart(key: string): number {
  return Date.parse(`${key}:00:00.000Z`);
}

export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

export function ceilHour(ms: number): number {
  return Math.ceil(ms / HOUR_MS) * HOUR_MS;
}

/** Hour buckets `[h, h+1h)` that `[from, to)` touches: 23:00 → 12:00 eleven days later is 253 hours. */
export function hoursTouched(fromMs: number, toMs: number): number {
  if (!(toMs > fromMs)) return 0;
  return Math.round((ceilHour(toMs) - floorHour(fromMs)) / HOUR_MS);
}

const Instant = z.string();

export const ReportTenantSchema = z.object({
  tenantId: z.string(),
  name: z.string(),
  licence: LicenceSchema,
  /** Days Entra keeps sign-in and audit logs for this licence. */
  retentionDays: z.number().int(),
});

/** One stored revision of a notice, with what it said about the window (the assessment of that revision alone). */
export const ReportRevisionSchema = z.object({
  revision: z.string(),
  publishedAt: Instant,
  receivedAt: Instant,
  title: z.string(),
  stage: z.string().nullable(),
  synthetic: z.boolean(),
  relevant: z.boolean(),
  effect: z.enum(["loss", "delay", "none"]),
  sources: z.array(LogSourceIdSchema),
  statedWindow: z.object({ start: Instant.nullable(), end: Instant.nullable() }),
});

export const ReportNoticeSchema = z.object({
  key: z.string(),
  source: NoticeSourceSchema,
  id: z.string(),
  title: z.string(),
  /** Oldest publication first. */
  revisions: z.array(ReportRevisionSchema),
});

export const ReportWindowSchema = z.object({
  windowId: z.string(),
  source: LogSourceIdSchema,
  start: Instant,
  end: Instant.nullable(),
  effect: z.enum(["loss", "delay"]),
  status: z.enum(["suspected", "confirmed", "resolved"]),
  reviewDeadline: Instant,
  notices: z.array(z.string()),
  /** Hours the window touches (an open window: up to the report's time). */
  hours: z.number().int(),
});

/** Hours of a window that had left retention before a review could read them: evidence gone for good. */
export const ReportLostEvidenceSchema = z.object({
  source: LogSourceIdSchema,
  windowId: z.string(),
  from: Instant,
  to: Instant,
  hours: z.number().int(),
  /** The retention that deleted them (Entra sign-ins and audits: by licence; risk detections: 90 days). */
  retentionDays: z.number().int(),
  /** The `evidence-lost` finding's explanation, when the review recorded one. */
  explanation: z.string().nullable(),
});

export const ReportCoverageSchema = z.object({
  reviewedFrom: Instant.nullable(),
  reviewedTo: Instant.nullable(),
  lostFrom: Instant.nullable(),
  lostTo: Instant.nullable(),
});

export const ReportControlSchema = z.object({
  windowId: z.string(),
  source: LogSourceIdSchema,
  control: z.enum(["signin-review", "audit-review", "risk-review", "preserve", "hunt-checklist"]),
  state: z.enum(["planned", "running", "done", "failed", "superseded"]),
  startedAt: Instant.nullable(),
  finishedAt: Instant.nullable(),
  /** Records read per Graph stream, as the control runner counted them. */
  recordsRead: z.record(z.string(), z.number()),
  records: z.number(),
  pages: z.number(),
  throttledWaits: z.number(),
  durationMs: z.number(),
  coverage: ReportCoverageSchema,
  /** Hours with a key in the control's hourly map (read, possibly empty); null for a control that keeps no such map. */
  hoursRead: z.number().int().nullable(),
  /** Hours the reviewed range touches. */
  hoursCovered: z.number().int(),
  hoursLost: z.number().int(),
  findings: z.number(),
  evidence: z.object({ manifestPath: z.string(), blobs: z.number(), records: z.number() }).nullable(),
  error: z.string().nullable(),
  /** A planned preserve control whose window's review is preserving as it reads: that review, and how far it has read. */
  preservedBy: z.object({ control: z.string(), reviewedTo: Instant.nullable() }).nullable(),
});

/** Records read per log source, over the review controls of the source (preserve reads the same records again). */
export const ReportSourceTotalsSchema = z.object({
  source: LogSourceIdSchema,
  records: z.number(),
  streams: z.record(z.string(), z.number()),
  hoursBlind: z.number().int(),
  hoursRead: z.number().int(),
  hoursLost: z.number().int(),
});

/** Coverage of one day for one reviewed source: the per-hour figures summed by UTC day. */
export const ReportCoverageDaySchema = z.object({
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/u),
  source: LogSourceIdSchema,
  hoursBlind: z.number().int(),
  hoursRead: z.number().int(),
  hoursLost: z.number().int(),
  records: z.number(),
});

export const ChartHourSchema = z.object({
  hour: HourKeySchema,
  /** Sign-ins read in that hour; null when the hour was not read. */
  signIns: z.number().nullable(),
  /** Inside a sign-in blind window. */
  blind: z.boolean(),
  /** Read by a sign-in review (a key in its hourly map, possibly 0). */
  reviewed: z.boolean(),
  /** Inside a window and already gone from retention when the review began. */
  lost: z.boolean(),
});
export type ChartHour = z.infer<typeof ChartHourSchema>;

/** Sign-ins per hour across one or more sign-in windows (padded by a day each side, closer windows share a chart). */
export const ReportChartSchema = z.object({
  /** First and last hour shown. */
  from: HourKeySchema,
  to: HourKeySchema,
  windows: z.array(z.object({ windowId: z.string(), start: Instant, end: Instant.nullable() })),
  hours: z.array(ChartHourSchema),
  totals: z.object({ hours: z.number().int(), blindHours: z.number().int(), reviewedHours: z.number().int(), lostHours: z.number().int(), signIns: z.number(), peak: z.number() }),
  /** The range was longer than MAX_CHART_HOURS: only its last hours are shown. */
  clipped: z.boolean(),
});
export type ReportChart = z.infer<typeof ReportChartSchema>;

/** Most hours one chart shows (92 days; one bar per hour is still a visible line at A4 width). */
export const MAX_CHART_HOURS = 92 * 24;

export const ReportFindingSchema = z.object({
  id: z.string(),
  windowId: z.string(),
  rule: RuleIdSchema,
  severity: z.enum(SEVERITIES),
  source: LogSourceIdSchema,
  control: z.string(),
  subject: z.object({ kind: z.enum(SUBJECT_KINDS), id: z.string(), name: z.string().optional() }),
  explanation: z.string(),
  firstSeen: Instant,
  lastSeen: Instant,
  count: z.number(),
  sampleIds: z.array(z.string()),
  ipAddresses: z.array(z.string()),
  /** Manifest of the evidence the window's preserve control wrote for the finding's source, when there is one. */
  evidenceManifest: z.string().nullable(),
});

export const ReportHuntQuerySchema = z.object({
  windowId: z.string(),
  source: LogSourceIdSchema,
  id: z.string(),
  product: z.string(),
  /** Where to paste it: `log-analytics` (Sentinel › Logs) or `advanced-hunting` (Defender portal); null when not said. */
  runIn: z.string().nullable(),
  title: z.string(),
  why: z.string(),
  kql: z.string(),
});

export const ReportTaskSchema = z.object({
  id: z.string(),
  windowId: z.string(),
  title: z.string(),
  status: z.enum(TASK_STATUSES),
  dueDate: Instant,
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: Instant.nullable(),
  doneBy: z.string().nullable(),
  doneAt: Instant.nullable(),
  deliveries: z.array(z.object({ channel: z.string(), state: z.string(), sentAt: Instant.nullable() })),
});

export const IncidentReportSchema = z.object({
  version: z.literal(1),
  generatedAt: Instant,
  tenant: ReportTenantSchema,
  summary: z.object({
    windows: z.number().int(),
    blindHours: z.number().int(),
    recordsRead: z.number(),
    lostHours: z.number().int(),
    /** Lost hours per source (sources with none are absent). */
    lostHoursBySource: z.partialRecord(LogSourceIdSchema, z.number().int()),
    findings: z.number().int(),
    findingsBySeverity: z.record(z.enum(SEVERITIES), z.number().int()),
    /** Null when no task source was given (the report then says no tasks are recorded). */
    tasks: z.object({ open: z.number().int(), acknowledged: z.number().int(), done: z.number().int() }).nullable(),
  }),
  notices: z.array(ReportNoticeSchema),
  windows: z.array(ReportWindowSchema),
  evidenceLost: z.array(ReportLostEvidenceSchema),
  controls: z.array(ReportControlSchema),
  sources: z.array(ReportSourceTotalsSchema),
  coverageByDay: z.array(ReportCoverageDaySchema),
  charts: z.array(ReportChartSchema),
  findings: z.array(ReportFindingSchema),
  huntQueries: z.array(ReportHuntQuerySchema),
  /** Null: no task source was available; []: none recorded. */
  tasks: z.array(ReportTaskSchema).nullable(),
});
export type IncidentReport = z.infer<typeof IncidentReportSchema>;
export type ReportFinding = z.infer<typeof ReportFindingSchema>;
export type ReportControl = z.infer<typeof ReportControlSchema>;
export type ReportWindow = z.infer<typeof ReportWindowSchema>;
export type ReportNotice = z.infer<typeof ReportNoticeSchema>;
export type ReportLostEvidence = z.infer<typeof ReportLostEvidenceSchema>;
export type ReportTask = z.infer<typeof ReportTaskSchema>;
export type ReportHuntQuery = z.infer<typeof ReportHuntQuerySchema>;

// ---- the sign-in chart ----

/** What the chart needs of a sign-in window and of a sign-in review. */
export interface ChartWindow {
  windowId: string;
  start: string;
  end: string | null;
}
export interface ChartReview {
  hourly: Readonly<Record<string, number>>;
  lostFrom: string | null;
  lostTo: string | null;
}

/**
 * Sign-ins per hour around the sign-in windows: one chart per group of windows whose day-padded ranges meet. An hour
 * is blind when it touches a window; reviewed when a review read it (a key in its hourly map, 0 included: union of the
 * reviews, the larger count where two read the same hour, as a superseded and its successor may); lost when it lies
 * in a review's lost range (before the review could start, retention had taken it). Open windows end at `nowMs`.
 */
export function signInCharts(windows: readonly ChartWindow[], reviews: readonly ChartReview[], nowMs: number): ReportChart[] {
  const bounds = windows
    .map((w) => ({ w, from: floorHour(Date.parse(w.start)), to: ceilHour(w.end === null ? nowMs : Date.parse(w.end)) }))
    .filter((b) => Number.isFinite(b.from) && Number.isFinite(b.to) && b.to > b.from)
    .sort((a, b) => a.from - b.from || a.to - b.to);
  const groups: { windows: typeof bounds; from: number; to: number; open: boolean }[] = [];
  for (const b of bounds) {
    const last = groups[groups.length - 1];
    if (last && b.from - DAY_MS <= last.to + DAY_MS) {
      last.windows.push(b);
      last.to = Math.max(last.to, b.to);
      last.open ||= b.w.end === null;
    } else {
      groups.push({ windows: [b], from: b.from, to: b.to, open: b.w.end === null });
    }
  }

  const hourly = new Map<string, number>();
  for (const r of reviews) {
    for (const [key, n] of Object.entries(r.hourly)) {
      if (!HourKeySchema.safeParse(key).success || !Number.isFinite(n)) continue;
      hourly.set(key, Math.max(hourly.get(key) ?? 0, n));
    }
  }
  const lostRanges = reviews
    .filter((r) => r.lostFrom !== null && r.lostTo !== null)
    .map((r) => ({ from: Date.parse(r.lostFrom ?? ""), to: Date.parse(r.lostTo ?? "") }))
    .filter((r) => r.to > r.from);

  return groups.map((g) => {
    let from = g.from - DAY_MS;
    // An open window runs to now: nothing after it is known yet.
    const to = g.open ? Math.max(g.to, ceilHour(nowMs)) : g.to + DAY_MS;
    const clipped = (to - from) / HOUR_MS > MAX_CHART_HOURS;
    if (clipped) from = to - MAX_CHART_HOURS * HOUR_MS;
    const hours: ChartHour[] = [];
    for (let h = from; h < to; h += HOUR_MS) {
      const key = hourKey(h);
      const blind = g.windows.some((b) => h + HOUR_MS > Date.parse(b.w.start) && h < (b.w.end === null ? nowMs : Date.parse(b.w.end)));
      const count = hourly.get(key);
      const lost = blind && count === undefined && lostRanges.some((r) => h + HOUR_MS > r.from && h < r.to);
      hours.push({ hour: key, signIns: count ?? null, blind, reviewed: count !== undefined, lost });
    }
    return {
      from: hourKey(from),
      to: hourKey(to - HOUR_MS),
      windows: g.windows.map((b) => ({ windowId: b.w.windowId, start: b.w.start, end: b.w.end })),
      hours,
      totals: {
        hours: hours.length,
        blindHours: hours.filter((x) => x.blind).length,
        reviewedHours: hours.filter((x) => x.reviewed).length,
        lostHours: hours.filter((x) => x.lost).length,
        signIns: hours.reduce((n, x) => n + (x.signIns ?? 0), 0),
        peak: hours.reduce((n, x) => Math.max(n, x.signIns ?? 0), 0),
      },
      clipped,
    };
  });
}

// ---- wording shared by both renderers ----

const LOST_NOUNS: Partial<Record<LogSourceId, string>> = {
  "entra-signin": "sign-ins",
  "entra-audit": "directory audit logs",
  "entra-risk": "risk detections",
};

/** What people call the records of a source, in a sentence ("sign-ins", "directory audit logs"). */
export function recordsNoun(source: LogSourceId): string {
  return LOST_NOUNS[source] ?? `${LOG_SOURCE_NAMES[source]} records`;
}

/**
 * The plain statements at the top of a report when evidence was lost, one per source and retention:
 * "Entra's 7-day retention had already deleted 253 hours of sign-ins for this tenant when blindwindow began its review
 * (2024-09-02 23:00 UTC – 2024-09-13 12:00 UTC)."
 */
export function lostEvidenceStatements(report: Pick<IncidentReport, "evidenceLost">): string[] {
  const bySource = new Map<string, ReportLostEvidence[]>();
  for (const e of report.evidenceLost) {
    const key = `${e.source}~${String(e.retentionDays)}`;
    bySource.set(key, [...(bySource.get(key) ?? []), e]);
  }
  return [...bySource.values()].map((entries) => {
    const first = entries[0] as ReportLostEvidence;
    const hours = entries.reduce((n, e) => n + e.hours, 0);
    const owner = first.source === "entra-risk" ? "Entra ID Protection's" : "Entra's";
    const ranges = entries.map((e) => `${formatUtc(e.from)} – ${formatUtc(e.to)}`).join("; ");
    return `${owner} ${String(first.retentionDays)}-day retention had already deleted ${String(hours)} ${hours === 1 ? "hour" : "hours"} of ${recordsNoun(first.source)} for this tenant when blindwindow began its review (${ranges}).`;
  });
}

/** A duration for people: "4 min 12 s", "850 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${String(Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${String(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${String(m)} min ${String(s % 60)} s`;
  return `${String(Math.floor(m / 60))} h ${String(m % 60)} min`;
}

/** Thousands separated the same way in every report, whatever the machine's locale. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * Text from notices, findings and tasks is attacker-influenced. Bidirectional-override and invisible formatting
 * characters can make a shown name read differently from what it is (CVE-2021-42574, "Trojan Source"): they are
 * shown as visible escapes. Other control characters (newlines excepted) likewise.
 */
export function visibleText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is made visible here
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A file-name-safe slug of a tenant name (`Contoso Health` → `contoso-health`). */
export function reportSlug(name: string): string {
  const slug = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/gu, "-")
    .replace(/^-+|-+$/gu, "")
    .slice(0, 60)
    .replace(/-+$/u, "");
  return slug === "" ? "tenant" : slug;
}

/** Where people paste a hunt query, in words. */
export function huntConsoleName(runIn: string | null): string | null {
  if (runIn === "log-analytics") return "Microsoft Sentinel › Logs (Log Analytics)";
  if (runIn === "advanced-hunting") return "Microsoft Defender portal › Advanced hunting";
  return runIn;
}
