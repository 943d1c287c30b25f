import { z } from "zod";
import { contentHash } from "./contentHash.js";
import { preservingReview } from "./controlPlan.js";
import { compareFindings, SEVERITIES, type Finding, type Severity } from "./finding.js";
import type { LogSourceId } from "./logSource.js";

/**
 * Tasks for the security team (DESIGN.md "task"): one per (tenant, blind window), built here as pure content that
 * every channel renders (Planner, Teams card, e-mail), plus the system's own blind windows (a stale poller or sweeper,
 * `kind: "watchdog"`). No clock reads: every instant comes in as an argument.
 */

export const TASK_STATUSES = ["open", "acknowledged", "done"] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES, { error: `must be one of ${TASK_STATUSES.join(", ")}` });
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** Where a task is delivered. Each is a row of the Deliveries outbox. */
export const TASK_CHANNELS = ["planner", "teams", "email"] as const;
export type TaskChannel = (typeof TASK_CHANNELS)[number];

/** Messages the sweeper sends about a task: before its review deadline while controls are unfinished, and after it. */
export const ESCALATION_KINDS = ["warn-72h", "warn-24h", "overdue"] as const;
export type EscalationKind = (typeof ESCALATION_KINDS)[number];

/** Rows of the Deliveries outbox of one task (RowKey). */
export const DELIVERY_KEYS = [...TASK_CHANNELS, ...ESCALATION_KINDS] as const;
export const DeliveryKeySchema = z.enum(DELIVERY_KEYS);
export type DeliveryKey = z.infer<typeof DeliveryKeySchema>;

/**
 * Planner limits: a task's details hold at most 20 checklist items (more is a 403 `MaximumChecklistItemsOnTask`,
 * https://learn.microsoft.com/graph/api/resources/planner-overview#common-planner-error-conditions), and the Planner
 * clients cut checklist item titles at 100 characters and task titles at 255.
 */
export const PLANNER_LIMITS = { checklistItems: 20, checklistTitleChars: 100, taskTitleChars: 255 } as const;

/** Display names of the log sources, as people in a SOC call them. */
export const LOG_SOURCE_NAMES: Readonly<Record<LogSourceId, string>> = {
  "entra-signin": "Microsoft Entra sign-in logs",
  "entra-audit": "Microsoft Entra audit logs",
  "entra-risk": "Microsoft Entra ID Protection risk detections",
  sentinel: "Microsoft Sentinel",
  "defender-cloud": "Microsoft Defender for Cloud",
  "defender-xdr": "Microsoft Defender XDR",
  "purview-audit": "Microsoft Purview audit (Unified Audit Log)",
  "azure-activity": "Azure activity logs",
  "azure-monitor": "Azure Monitor / Log Analytics platform telemetry",
};

// ---- ids ----

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WINDOW_KEY = /^[A-Za-z0-9-]{1,100}$/;

/**
 * A task's id: the tenant and the window it was created for, `{tenant}.{windowId}`. Deterministic (a repeated or
 * concurrent refresh finds the same row), and it names its partition, so the API reads a task by id without a scan.
 * When later notices merge the window into one with another id, the task keeps its id and follows the window.
 */
export function taskId(tenantId: string, windowId: string): string {
  return `${tenantId.toLowerCase()}.${windowId}`;
}

/** The parts of a task id, or undefined for anything that is not one (user input: route parameters, CLI arguments). */
export function parseTaskId(id: string): { tenantId: string; windowKey: string } | undefined {
  const at = id.indexOf(".");
  if (at < 0) return undefined;
  const tenantId = id.slice(0, at).toLowerCase();
  const windowKey = id.slice(at + 1);
  return TENANT_ID.test(tenantId) && WINDOW_KEY.test(windowKey) ? { tenantId, windowKey } : undefined;
}

/** A short marker put in the Planner task title, so a crashed delivery finds the task it created before (no second task). */
export function plannerMarker(id: string): string {
  return `[bw:${contentHash(["planner", id], 12)}]`;
}

/** A Planner checklist item key: Planner wants client-generated GUIDs; deriving them keeps a re-sent checklist the same items. */
export function checklistItemId(id: string, key: string): string {
  const h = contentHash(["checklist", id, key], 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// ---- content ----

/** One hunt query as `huntQueries(window, now)` (shared/domain/huntQueries.ts) produces it. */
export const HuntQuerySchema = z.object({
  id: z.string(),
  product: z.string(),
  /** Where to paste it: `log-analytics` (Sentinel › Logs) or `advanced-hunting` (Defender portal). */
  runIn: z.string().optional(),
  title: z.string(),
  why: z.string(),
  kql: z.string(),
});
export type HuntQuery = z.infer<typeof HuntQuerySchema>;

/** What the task needs of a control's summary (the `ControlSummary` the control runner writes fits it). */
export interface ControlProgress {
  /** When given, a control of another tenant or window is left out. */
  tenantId?: string;
  windowId?: string;
  control: string;
  state: "planned" | "running" | "done" | "failed" | "superseded";
  recordsRead: Readonly<Record<string, number>>;
  coverage: { reviewedFrom: string | null; reviewedTo: string | null; lostFrom: string | null; lostTo: string | null };
  findings: number;
  evidence?: { manifestPath: string; blobs: number; records: number };
  error?: string;
}

/** What the task needs of a blind window (BlindWindow fits it). */
export interface TaskWindow {
  tenantId: string;
  windowId: string;
  source: LogSourceId;
  start: string;
  end: string | null;
  effect: "loss" | "delay";
  status: "suspected" | "confirmed" | "resolved";
  reviewDeadline: string;
  notices: readonly string[];
}

const SectionSchema = z.object({ heading: z.string(), lines: z.array(z.string()) });
export type TaskSection = z.infer<typeof SectionSchema>;

const ChecklistItemSchema = z.object({ key: z.string(), title: z.string().max(PLANNER_LIMITS.checklistTitleChars) });
export type ChecklistItem = z.infer<typeof ChecklistItemSchema>;

const TopFindingSchema = z.object({
  id: z.string(),
  rule: z.string(),
  severity: z.enum(SEVERITIES),
  subject: z.string(),
  explanation: z.string(),
  ipAddresses: z.array(z.string()),
});

/** Everything a channel shows of a task. Stored with the task, so a delivery renders exactly what was decided. */
export const TaskContentSchema = z.object({
  version: z.literal(1),
  kind: z.enum(["window", "watchdog"]),
  tenantId: z.string(),
  tenantName: z.string(),
  title: z.string().max(PLANNER_LIMITS.taskTitleChars),
  /** One paragraph: what happened and what to do by when. */
  summary: z.string(),
  window: z.object({
    windowId: z.string(),
    /** A log source id, or the component for a watchdog task. */
    source: z.string(),
    sourceName: z.string(),
    start: z.string(),
    end: z.string().nullable(),
    effect: z.enum(["loss", "delay", "outage"]),
    status: z.string(),
    reviewDeadline: z.string(),
  }),
  notices: z.array(z.object({ key: z.string(), title: z.string() })),
  controls: z.array(z.object({ control: z.string(), state: z.string(), progress: z.string() })),
  findings: z.object({ total: z.number().int(), bySeverity: z.record(z.enum(SEVERITIES), z.number().int()), top: z.array(TopFindingSchema) }),
  evidence: z.array(z.object({ control: z.string(), manifestPath: z.string(), blobs: z.number(), records: z.number() })),
  huntQueries: z.array(HuntQuerySchema),
  sections: z.array(SectionSchema),
  checklist: z.array(ChecklistItemSchema).max(PLANNER_LIMITS.checklistItems),
  /** Every control reached an end state (done, failed, superseded); deadline warnings stop then. */
  controlsFinished: z.boolean(),
  /** Set when the window left the ledger (its notices were withdrawn or re-assessed) or merged into another task. */
  note: z.string().optional(),
});
export type TaskContent = z.infer<typeof TaskContentSchema>;

/** The stored task (Tasks table): status and who moved it, plus its content and the hashes deliveries compare. */
export const TaskSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  kind: z.enum(["window", "watchdog"]),
  /** The window the task follows now (it may differ from the one in its id after a merge). */
  windowId: z.string(),
  /** A log source id, or the component of a watchdog task. */
  source: z.string(),
  /** Notice keys of the window, to find the task again when later notices merge its window into a new one. */
  notices: z.array(z.string()),
  title: z.string(),
  status: TaskStatusSchema,
  /** The review deadline (watchdog: a day after the last heartbeat). */
  dueDate: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  acknowledgedBy: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  doneBy: z.string().optional(),
  doneAt: z.string().optional(),
  /** Notes people left with an acknowledgement or completion (a dismissal's reason). */
  notes: z.array(z.object({ by: z.string(), at: z.string(), text: z.string() })).optional(),
  /** Hash of the whole content (Planner mirrors all of it). */
  contentHash: z.string(),
  /** Hash of what Teams and e-mail announce (bounds, status, notices; findings once every control finished). */
  announcementHash: z.string(),
  controlsFinished: z.boolean(),
  /** The window left the ledger; the task stays for the record. */
  windowGone: z.boolean().default(false),
  content: TaskContentSchema,
});
export type Task = z.infer<typeof TaskSchema>;

/** The hash a channel's delivery must have sent for the channel to be up to date. */
export function deliveryHash(task: Pick<Task, "contentHash" | "announcementHash" | "status" | "dueDate">, key: DeliveryKey): string {
  switch (key) {
    case "planner":
      return contentHash([task.contentHash, task.status], 24); // percentComplete follows the status
    case "teams":
    case "email":
      return task.announcementHash;
    default:
      return contentHash([key, task.dueDate], 24); // one escalation of each kind per deadline
  }
}

/** The announcement subset of content: what a new Teams card or e-mail is worth sending for. */
export function announcementHash(content: TaskContent): string {
  return contentHash(
    {
      title: content.title,
      window: content.window,
      notices: content.notices.map((n) => n.key),
      controlsFinished: content.controlsFinished,
      findings: content.controlsFinished ? { total: content.findings.total, bySeverity: content.findings.bySeverity } : null,
      evidence: content.controlsFinished ? content.evidence : null,
      note: content.note ?? null,
    },
    24,
  );
}

export function taskContentHash(content: TaskContent): string {
  return contentHash(content, 24);
}

// ---- text helpers ----

/** `2024-09-02 23:00 UTC` from an ISO instant (minutes are what people act on). */
export function formatUtc(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Cuts `text` to `max` characters, ending with an ellipsis when cut; never leaves half a surrogate pair. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/gu, " ").trim();
  if (flat.length <= max) return flat;
  return `${flat.slice(0, max - 1).replace(/[\ud800-\udbff]$/u, "")}…`;
}

function plural(n: number, word: string): string {
  return `${String(n)} ${word}${n === 1 ? "" : "s"}`;
}

const END_STATES: ReadonlySet<ControlProgress["state"]> = new Set(["done", "failed", "superseded"]);

function progressText(c: ControlProgress): string {
  const records = Object.values(c.recordsRead).reduce((n, v) => n + v, 0);
  const lost = c.coverage.lostFrom && c.coverage.lostTo ? `; hours already gone from retention: ${formatUtc(c.coverage.lostFrom)} – ${formatUtc(c.coverage.lostTo)}` : "";
  switch (c.state) {
    case "planned":
      return "planned";
    case "running":
      return `running: ${plural(records, "record")} read${c.coverage.reviewedTo ? ` up to ${formatUtc(c.coverage.reviewedTo)}` : ""}, ${plural(c.findings, "finding")} so far${lost}`;
    case "done":
      return `done: ${plural(records, "record")} read, ${plural(c.findings, "finding")}${c.evidence ? `, ${plural(c.evidence.records, "record")} preserved in ${plural(c.evidence.blobs, "blob")}` : ""}${lost}`;
    case "failed":
      return `failed: ${truncate(c.error ?? "no reason recorded", 200)}`;
    case "superseded":
      return "superseded by a newer run";
  }
}

/**
 * A control's progress among the window's controls: a preserve control still planned while a sign-in or audit review
 * of its window reads is being done by that review's pass (one read serves both), so it says so instead of "planned".
 */
function controlProgressText(c: ControlProgress, all: readonly ControlProgress[]): string {
  const review = preservingReview(c, all);
  return review ? preservingText(review.control, review.coverage.reviewedTo) : progressText(c);
}

/** "preserved by signin-review as it reads, up to 2024-09-10 06:00 UTC": a preserve control that review's pass is doing. */
export function preservingText(review: string, reviewedTo: string | null): string {
  return `preserved by ${review} as it reads${reviewedTo ? `, up to ${formatUtc(reviewedTo)}` : ""}`;
}

function subjectText(f: Finding): string {
  const who = f.subject.name && f.subject.name !== f.subject.id ? `${f.subject.name} (${f.subject.id})` : f.subject.id;
  return `${f.subject.kind} ${who}`;
}

const REVIEW_CONTROLS: ReadonlySet<string> = new Set(["signin-review", "audit-review", "risk-review"]);
const TOP_FINDINGS = 5;
const TITLE_CHARS = 200;

export interface TaskContentInput {
  tenant: { tenantId: string; name: string };
  window: TaskWindow;
  /** Titles of the window's notices (key → latest title), in the window's order. */
  notices: readonly { key: string; title: string }[];
  controls: readonly ControlProgress[];
  findings: readonly Finding[];
  huntQueries: readonly HuntQuery[];
  note?: string;
}

/**
 * The content of a blind window's task: what happened (notices, source, window, loss or delay), what is being done
 * (controls and their progress, findings, evidence), the review deadline, and a checklist (review findings, one item
 * per hunt query, confirm or dismiss) within Planner's limits. Only this tenant's window, controls and findings go in:
 * the caller passes nothing else, and findings of another tenant or window are dropped here as well.
 */
export function buildTaskContent(input: TaskContentInput): TaskContent {
  const { tenant, window: w } = input;
  const findings = input.findings.filter((f) => f.tenantId === tenant.tenantId && f.windowId === w.windowId).sort(compareFindings);
  const controls = input.controls.filter((c) => (c.tenantId === undefined || c.tenantId === tenant.tenantId) && (c.windowId === undefined || c.windowId === w.windowId));
  const sourceName = LOG_SOURCE_NAMES[w.source];
  const effectWord = w.effect === "loss" ? "lost" : "delayed";
  const range = `${formatUtc(w.start)} – ${w.end ? formatUtc(w.end) : "ongoing"}`;
  const title = truncate(`Blind window: ${sourceName} ${effectWord}, ${range} — ${tenant.name}`, TITLE_CHARS);
  const controlsFinished = controls.length > 0 && controls.every((c) => END_STATES.has(c.state));
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  const evidence = controls.flatMap((c) => (c.evidence ? [{ control: c.control, ...c.evidence }] : []));
  const reviews = controls.filter((c) => REVIEW_CONTROLS.has(c.control));

  const summary =
    `${sourceName} ${w.effect === "loss" ? "were lost" : "arrived late"} for ${tenant.name} from ${formatUtc(w.start)} ` +
    `${w.end ? `to ${formatUtc(w.end)}` : "until further notice (the incident is still open)"} (${w.status}). ` +
    `Review by ${formatUtc(w.reviewDeadline)}, when the oldest hour of the window leaves Entra retention.`;

  const sections: TaskSection[] = [
    {
      heading: "What happened",
      lines: [
        `${sourceName}: ${w.effect === "loss" ? "records lost" : "records delayed"} from ${formatUtc(w.start)} to ${w.end ? formatUtc(w.end) : "now (open)"}; window ${w.status}.`,
        ...input.notices.map((n) => `Notice ${n.key}: ${truncate(n.title, 200)}`),
      ],
    },
    {
      heading: "What is being done",
      lines: [
        ...(controls.length === 0 ? ["Compensating controls are being planned."] : controls.map((c) => `${c.control}: ${controlProgressText(c, controls)}`)),
        // The control runner reads a delay window's Entra logs again once the delay is over (rereadsDelayed): say so
        // before a review's progress goes back to the window's start.
        ...(w.effect === "delay" && reviews.length > 0
          ? [`Graph lists this window's records late: its reviews read it again, whole, once the delay is over${w.end ? ` (after ${formatUtc(w.end)})` : ""}.`]
          : []),
      ],
    },
  ];
  if (reviews.length > 0) {
    sections.push({
      heading: "Findings",
      lines:
        findings.length === 0
          ? [controlsFinished ? "No findings." : "None yet; the reviews are still running."]
          : [
              `${plural(findings.length, "finding")}: ${SEVERITIES.slice().reverse().map((s) => `${String(bySeverity[s])} ${s}`).join(", ")}.`,
              ...findings.slice(0, TOP_FINDINGS).map((f) => `${f.severity.toUpperCase()} ${f.rule} — ${subjectText(f)}: ${truncate(f.explanation, 300)}`),
            ],
    });
  }
  if (evidence.length > 0) {
    sections.push({ heading: "Evidence", lines: evidence.map((e) => `${plural(e.records, "record")} preserved in ${plural(e.blobs, "blob")}; manifest ${e.manifestPath}`) });
  }
  if (input.huntQueries.length > 0) {
    sections.push({ heading: "Hunt queries", lines: input.huntQueries.map((q) => `${q.product}: ${q.title} — ${q.why}`) });
  }
  sections.push({ heading: "Review deadline", lines: [`${formatUtc(w.reviewDeadline)}: after this, the oldest hour of the window is gone from Entra retention.`] });
  if (input.note) sections.unshift({ heading: "Note", lines: [input.note] });

  const checklist = buildChecklist({
    findingsItem:
      reviews.length === 0
        ? undefined
        : controlsFinished
          ? findings.length === 0
            ? "Confirm the reviews covered the whole window (no findings)"
            : `Review ${plural(findings.length, "finding")} (${String(bySeverity.high)} high, ${String(bySeverity.medium)} medium)`
          : "Review the findings once the reviews finish",
    evidence: evidence.length > 0,
    hunts: input.huntQueries,
  });

  const content: TaskContent = {
    version: 1,
    kind: "window",
    tenantId: tenant.tenantId,
    tenantName: tenant.name,
    title,
    summary,
    window: { windowId: w.windowId, source: w.source, sourceName, start: w.start, end: w.end, effect: w.effect, status: w.status, reviewDeadline: w.reviewDeadline },
    notices: input.notices.map((n) => ({ key: n.key, title: truncate(n.title, 300) })),
    controls: controls.map((c) => ({ control: c.control, state: c.state, progress: controlProgressText(c, controls) })),
    findings: {
      total: findings.length,
      bySeverity,
      top: findings.slice(0, TOP_FINDINGS).map((f) => ({ id: f.id, rule: f.rule, severity: f.severity, subject: subjectText(f), explanation: truncate(f.explanation, 300), ipAddresses: f.ipAddresses.slice(0, 5) })),
    },
    evidence,
    huntQueries: input.huntQueries.map((q) => ({ ...q })),
    sections,
    checklist,
    controlsFinished,
    ...(input.note ? { note: input.note } : {}),
  };
  return TaskContentSchema.parse(content);
}

/** The checklist, within Planner's 20 items of 100 characters: findings, evidence, one item per hunt query, confirm. */
function buildChecklist(parts: { findingsItem: string | undefined; evidence: boolean; hunts: readonly HuntQuery[] }): ChecklistItem[] {
  const head: ChecklistItem[] = [];
  if (parts.findingsItem) head.push({ key: "findings", title: truncate(parts.findingsItem, PLANNER_LIMITS.checklistTitleChars) });
  if (parts.evidence) head.push({ key: "evidence", title: "Check the preserved evidence (manifest in the task notes)" });
  const last: ChecklistItem = { key: "confirm", title: "Confirm the blind window, or dismiss it with a reason" };
  const room = PLANNER_LIMITS.checklistItems - head.length - 1;
  const hunts = parts.hunts.map((q) => ({ key: `hunt:${q.id}`, title: truncate(`Run hunt (${q.product}): ${q.title}`, PLANNER_LIMITS.checklistTitleChars) }));
  const shown = hunts.length <= room ? hunts : [...hunts.slice(0, room - 1), { key: "hunt:rest", title: truncate(`Run the other ${String(hunts.length - room + 1)} hunt queries (KQL in the task notes)`, PLANNER_LIMITS.checklistTitleChars) }];
  return [...head, ...shown, last];
}

// ---- watchdog ----

export interface WatchdogInput {
  tenant: { tenantId: string; name: string };
  component: string;
  /** What the component does, for people: "polls Microsoft 365 service health". */
  role: string;
  lastBeat: string;
  expectedEverySeconds: number;
  /** When the component beat again, if it has. */
  recoveredAt: string | null;
  dueDate: string;
}

/** The window key of a watchdog task: one per component and stale episode (its last heartbeat before it stopped). */
export function watchdogWindowKey(component: string, lastBeat: string): string {
  return `watchdog-${component.replace(/[^A-Za-z0-9]/gu, "")}-${lastBeat.replace(/[^0-9]/gu, "").slice(0, 12)}`;
}

/**
 * The system's own blind window: a timer that stopped beating means notices may not have been polled, or stuck work
 * not swept, since its last heartbeat. The task says so, and what to check.
 */
export function buildWatchdogContent(input: WatchdogInput): TaskContent {
  const { tenant, component } = input;
  const since = formatUtc(input.lastBeat);
  const title = truncate(`Blindwindow itself: ${component} stopped at ${since} — ${tenant.name}`, TITLE_CHARS);
  const state = input.recoveredAt ? `beat again at ${formatUtc(input.recoveredAt)}` : "still silent";
  const summary =
    `The ${component} component (${input.role}) last recorded a heartbeat at ${since}; it is expected every ${plural(input.expectedEverySeconds, "second")} and is ${state}. ` +
    `Until it runs, blindwindow may miss notices or leave work unswept: its own blind window.`;
  const content: TaskContent = {
    version: 1,
    kind: "watchdog",
    tenantId: tenant.tenantId,
    tenantName: tenant.name,
    title,
    summary,
    window: { windowId: watchdogWindowKey(component, input.lastBeat), source: component, sourceName: `blindwindow ${component}`, start: input.lastBeat, end: input.recoveredAt, effect: "outage", status: input.recoveredAt ? "resolved" : "confirmed", reviewDeadline: input.dueDate },
    notices: [],
    controls: [],
    findings: { total: 0, bySeverity: { informational: 0, low: 0, medium: 0, high: 0 }, top: [] },
    evidence: [],
    huntQueries: [],
    sections: [
      { heading: "What happened", lines: [`${component} (${input.role}): last heartbeat ${since}, expected every ${plural(input.expectedEverySeconds, "second")}; ${state}.`] },
      {
        heading: "What to do",
        lines: [
          "Open GET /api/health: the component is listed under `stale`.",
          "Check the function app: is it running, are timers firing, what do the invocation logs say?",
          `Check Microsoft 365 service health and Azure Service Health for notices published since ${since}, and record any missed ones (POST /api/notices).`,
        ],
      },
    ],
    checklist: [
      { key: "health", title: "Check GET /api/health and the function app's invocation logs" },
      { key: "restart", title: `Get ${truncate(component, 40)} running again` },
      { key: "notices", title: "Look for notices published while it was down; submit any it missed" },
      { key: "confirm", title: "Confirm nothing was missed, or record what was" },
    ],
    controlsFinished: input.recoveredAt !== null,
  };
  return TaskContentSchema.parse(content);
}
