import type { IncidentReportDeps, ReportTaskItem } from "../../shared/app/incidentReport.js";
import type { NoticeRecord, StoredRevision } from "../../shared/app/ports.js";
import type { ControlSummary } from "../../shared/app/reviewPorts.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import type { Finding } from "../../shared/domain/finding.js";
import type { TenantProfile } from "../../shared/domain/tenant.js";
import type { HuntQueriesFor } from "../../shared/app/taskHuntQueries.js";

/**
 * In-memory stores behind the incident report's ports, for fast tests of the use case and its renderers (the
 * Azurite-backed test checks the real adapters). `leaky: true` makes every per-tenant listing ignore its tenant, as a
 * broken adapter would: the report must still hold one tenant's data only.
 */
export interface ReportWorld {
  tenants: TenantProfile[];
  notices: { record: NoticeRecord; revisions: StoredRevision[] }[];
  windows: BlindWindow[];
  controls: ControlSummary[];
  findings: Finding[];
  tasks?: Record<string, ReportTaskItem[]>;
  huntQueries?: HuntQueriesFor;
}

async function* each<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield await Promise.resolve(item);
}

export function fakeDeps(world: ReportWorld, options: { leaky?: boolean } = {}): IncidentReportDeps {
  const mine = <T extends { tenantId: string }>(items: readonly T[], tenantId: string | undefined): T[] =>
    options.leaky || tenantId === undefined ? [...items] : items.filter((i) => i.tenantId === tenantId);
  const tasks = world.tasks;
  return {
    tenants: { get: (id) => Promise.resolve(world.tenants.find((t) => t.tenantId === id)) },
    notices: {
      listNotices: () => each(world.notices.map((n) => n.record)),
      listRevisions: (source, id) => each(world.notices.find((n) => n.record.source === source && n.record.id === id)?.revisions ?? []),
    },
    ledger: { listWindows: (filter) => each(mine(world.windows, filter.tenantId)) },
    controls: { listControls: (tenantId) => each(mine(world.controls, tenantId)) },
    findings: { listFindings: (tenantId) => each(mine(world.findings, tenantId)) },
    ...(tasks ? { tasks: { listTasks: (tenantId: string) => each(tasks[tenantId] ?? []) } } : {}),
    ...(world.huntQueries ? { huntQueries: world.huntQueries } : {}),
  };
}

export function tenant(tenantId: string, name: string, licence: TenantProfile["licence"] = "free"): TenantProfile {
  return {
    tenantId,
    name,
    subscriptions: [],
    regions: [],
    logSources: ["entra-signin", "entra-audit", "sentinel"],
    licence,
    onboardedAt: "2024-01-01T00:00:00.000Z",
    contacts: { emails: ["soc@example.com"] },
  };
}

export const HOSTILE = {
  tenantId: "3f2b8c1e-6d4a-4e7b-9c5f-0a1d2e3f4b5c",
  otherTenantId: "d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708",
  tenantName: "Fabrikam <b>Bakeries</b> & Sons",
  noticeTitle: 'Entra sign-in logs incomplete "><img src=x onerror=alert(1)>',
  explanation: '<script>alert("pwned")</script> | spray from 203.0.113.9\n| second line | of the explanation',
  subjectName: "admin\u202Egpj.exe@fabrikam.example",
  sampleId: "id|with`backtick`",
  taskTitle: "</td></tr></table><script>alert(2)</script>",
  acknowledgedBy: 'eve | "admin" <eve@example.com>',
  kql: "SigninLogs\n| where TimeGenerated between (datetime(2024-09-02T23:00:00Z) .. datetime(2024-09-19T16:00:00Z))\n// ``` </pre><script>alert(3)</script>\n| take 10",
} as const;

const START = "2024-09-02T23:00:00.000Z";
const END = "2024-09-19T16:00:00.000Z";
const RETAINED = "2024-09-13T12:00:00.000Z";

/**
 * One Free tenant after the September 2024 incident, with attacker-controlled text everywhere a notice, a finding or
 * a task can carry it: for the renderers' escaping tests and the Chromium test.
 */
export function hostileWorld(hourly: Record<string, number>, options: { tasks?: boolean } = {}): ReportWorld {
  const id = HOSTILE.tenantId;
  const notice = {
    source: "azure-monitor" as const,
    id: "4L44-3F0",
    revision: "638617000000000002~Resolved",
    title: HOSTILE.noticeTitle,
    text: "Starting at 23:00 UTC on 2 September 2024 sign-in logs were lost.",
    services: ["Microsoft Entra ID"],
    regions: ["Global"],
    subscriptionIds: ["45529734-0ed9-4895-a0df-44b59a5a07f9"],
    tenantIds: [HOSTILE.otherTenantId],
    stage: "Resolved",
    publishedAt: "2024-09-25T09:00:00.000Z",
    impactStart: START,
    impactEnd: END,
    synthetic: false,
  };
  const record: NoticeRecord = {
    source: "azure-monitor",
    id: "4L44-3F0",
    lastRevision: notice.revision,
    title: notice.title,
    publishedAt: notice.publishedAt,
    synthetic: false,
    state: "processed",
    updatedAt: notice.publishedAt,
    contributionKeys: [],
    etag: "*",
    outcome: { relevant: true, unmatched: false, assessment: { relevant: true, synthetic: false, effect: "loss", sources: ["entra-signin"], window: { start: START, end: END }, evidence: [] }, tenants: [id, HOSTILE.otherTenantId] },
  };
  const window = (source: BlindWindow["source"], windowId: string): BlindWindow => ({
    tenantId: id,
    source,
    windowId,
    start: START,
    end: END,
    effect: "loss",
    status: "resolved",
    notices: ["azure-monitor~4L44-3F0"],
    reviewDeadline: "2024-09-09T23:00:00.000Z",
    history: [],
  });
  const total = Object.values(hourly).reduce((a, b) => a + b, 0);
  const base = {
    tenantId: id,
    windowId: "wsignin0000000001",
    source: "entra-signin" as const,
    state: "done" as const,
    windowStart: START,
    windowEnd: END,
    reviewDeadline: "2024-09-09T23:00:00.000Z",
    startedAt: "2024-09-20T12:00:00.000Z",
    finishedAt: "2024-09-20T12:21:00.000Z",
    recordsRead: { "signIns:v1.0": total - Math.floor(total / 3), "signIns:beta": Math.floor(total / 3) },
    pages: 20,
    throttledWaits: 2,
    durationMs: 1_260_000,
    coverage: { reviewedFrom: RETAINED, reviewedTo: END, lostFrom: START, lostTo: RETAINED },
  };
  const manifest = `signins/${id}/manifests/wsignin0000000001_20240913T120000Z-20240919T160000Z.manifest.json`;
  const controls: ControlSummary[] = [
    { ...base, control: "signin-review", findings: 2, hourly },
    { ...base, control: "preserve", findings: 0, evidence: { manifestPath: manifest, blobs: 7, records: total } },
    { ...base, windowId: "wsentinel00000001", source: "sentinel", control: "hunt-checklist", recordsRead: {}, pages: 0, throttledWaits: 0, durationMs: 0, findings: 0, coverage: { reviewedFrom: START, reviewedTo: END, lostFrom: null, lostTo: null } },
  ];
  const findings: Finding[] = [
    {
      id: "f000000000000000000000001",
      tenantId: id,
      windowId: "wsignin0000000001",
      source: "entra-signin",
      control: "signin-review",
      rule: "brute-force-success",
      severity: "high",
      subject: { kind: "user", id: "11aa22bb-0000-4000-8000-000000000003", name: HOSTILE.subjectName },
      explanation: HOSTILE.explanation,
      firstSeen: "2024-09-16T03:33:00.000Z",
      lastSeen: "2024-09-16T03:45:00.000Z",
      count: 32,
      sampleIds: [HOSTILE.sampleId, "aa00bb11-0002-4c00-8000-000000000002"],
      ipAddresses: ["45.95.147.12"],
    },
    {
      id: "f000000000000000000000002",
      tenantId: id,
      windowId: "wsignin0000000001",
      source: "entra-signin",
      control: "signin-review",
      rule: "evidence-lost",
      severity: "high",
      subject: { kind: "tenant", id },
      explanation: `253 hours of the blind window (${START} → ${RETAINED}) had already left Entra's 7-day retention (free licence) when the review began.`,
      firstSeen: START,
      lastSeen: RETAINED,
      count: 1,
      sampleIds: [],
      ipAddresses: [],
    },
  ];
  return {
    tenants: [tenant(id, HOSTILE.tenantName, "free"), tenant(HOSTILE.otherTenantId, "Contoso Health", "p2")],
    notices: [{ record, revisions: [{ notice, receivedAt: "2024-09-25T09:00:04.000Z" }] }],
    windows: [window("entra-signin", "wsignin0000000001"), window("sentinel", "wsentinel00000001")],
    controls,
    findings,
    ...(options.tasks === false
      ? {}
      : {
          tasks: {
            [id]: [
              {
                id: `${id}.wsignin0000000001`,
                windowId: "wsignin0000000001",
                title: HOSTILE.taskTitle,
                status: "acknowledged" as const,
                dueDate: "2024-09-09T23:00:00.000Z",
                acknowledgedBy: HOSTILE.acknowledgedBy,
                acknowledgedAt: "2024-09-20T13:00:00.000Z",
                deliveries: [{ channel: "email", state: "sent", sentAt: "2024-09-20T12:05:00.000Z" }],
              },
            ],
          },
        }),
    huntQueries: (w) => [{ id: "sentinel-signins", product: "Microsoft Sentinel", title: `Sign-ins in ${w.source} gap`, why: "Sentinel lost SigninLogs rows.", kql: HOSTILE.kql }],
  };
}
