import { assessNotice } from "../../shared/domain/assessNotice.js";
import { mergeWindows, type BlindWindow } from "../../shared/domain/blindWindow.js";
import { CONTROLS_BY_SOURCE } from "../../shared/domain/controlPlan.js";
import { evidenceManifestPath } from "../../shared/domain/evidencePath.js";
import { findingId, type Detection, type Finding } from "../../shared/domain/finding.js";
import type { LogSourceId } from "../../shared/domain/logSource.js";
import { noticeKey, type Notice } from "../../shared/domain/notice.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";
import { retentionDays, type TenantProfile } from "../../shared/domain/tenant.js";
import type { ControlSummary } from "../../shared/app/reviewPorts.js";
import type { ControlType } from "../../shared/app/ledgerPorts.js";
import type { ReportTaskItem, ReportTaskSource } from "../../shared/app/incidentReport.js";
import type { HuntQueriesFor } from "../../shared/app/taskHuntQueries.js";
import type { Services } from "../../shared/runtime.js";
import { fixtureJson } from "./fixtures.js";

/**
 * The September 2024 incident as the pipeline leaves it in storage, for the incident report's tests: three tenants,
 * the Service Health notice (Active → Resolved → RCA) for Contoso and Northwind, an operator's notice for Fabrikam
 * (posted on 20 September, when a Free tenant had already lost every hour before 13 September 12:00), a Northwind-only
 * notice, windows, controls with hourly coverage, findings and preserved-evidence manifests. Everything is written
 * through the real stores; `Seeded` keeps what was written, so tests compare the report with it.
 */

export const FABRIKAM = "3f2b8c1e-6d4a-4e7b-9c5f-0a1d2e3f4b5c"; // Free: 7-day retention
export const NORTHWIND = "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f"; // P1
export const CONTOSO = "d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708"; // P2

export const WINDOW = { start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z" };
/** Fabrikam's review began on 20 September at 12:00: retention (7 days) reached back to 13 September 12:00. */
export const FABRIKAM_REVIEW_AT = "2024-09-20T12:00:00.000Z";
export const FABRIKAM_RETAINED_FROM = "2024-09-13T12:00:00.000Z";
/** Contoso's and Northwind's reviews began after the Active notice: all of the window was inside 30 days. */
export const PREMIUM_REVIEW_AT = "2024-09-24T18:00:00.000Z";
export const REPORT_AT = "2024-10-04T09:00:00.000Z";

const HOUR = 3_600_000;

export const TENANTS: Record<string, { name: string; licence: TenantProfile["licence"]; sources: LogSourceId[]; scale: number }> = {
  [FABRIKAM]: { name: "Fabrikam Bakeries", licence: "free", sources: ["entra-signin", "entra-audit"], scale: 40 },
  [NORTHWIND]: { name: "Northwind Logistics", licence: "p1", sources: ["entra-signin", "entra-audit", "defender-cloud"], scale: 120 },
  [CONTOSO]: { name: "Contoso Health", licence: "p2", sources: ["entra-signin", "entra-audit", "entra-risk", "sentinel"], scale: 260 },
};

export interface Seeded {
  windows: Map<string, BlindWindow[]>;
  controls: Map<string, ControlSummary[]>;
  findings: Map<string, Finding[]>;
  /** Notice keys each tenant's outcome lists. */
  notices: Map<string, string[]>;
}

/** A deterministic pseudo-random generator (mulberry32), so figures are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sign-ins per hour with a working-day shape: busy 07–19 UTC on weekdays, quiet nights and weekends. */
export function diurnalHourly(seed: number, from: string, to: string, scale: number): Record<string, number> {
  const rnd = random(seed);
  const out: Record<string, number> = {};
  for (let h = Date.parse(from); h < Date.parse(to); h += HOUR) {
    const d = new Date(h);
    const hod = d.getUTCHours();
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    const day = hod >= 6 && hod <= 20 ? Math.sin((Math.PI * (hod - 6)) / 14) : 0;
    const level = (0.08 + 0.92 * day) * (weekend ? 0.3 : 1);
    out[d.toISOString().slice(0, 13)] = Math.round(scale * level * (0.85 + 0.3 * rnd()));
  }
  return out;
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

function notice(json: unknown, now: string): Notice {
  const parsed = parseNoticeDocument(json, new Date(now));
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  return parsed.notice;
}

/** The notices of the scenario, each with the tenants its processing outcome lists and when each revision arrived. */
export function scenarioNotices(): { revisions: { notice: Notice; receivedAt: string }[]; tenants: string[] }[] {
  const serviceHealth = ["01-active.json", "02-resolved.json", "03-pir.json"].map((file, i) => ({
    notice: notice(fixtureJson("incident-2024-09", file), "2024-10-04T00:00:00Z"),
    receivedAt: ["2024-09-24T17:10:05.000Z", "2024-09-25T09:00:04.000Z", "2024-10-03T18:00:07.000Z"][i] ?? "",
  }));
  const operator = notice(
    {
      title: "Operator: Entra sign-in and audit logs incomplete since 2 September",
      body: "Our Microsoft account team told us that starting around 23:00 UTC on 2 September 2024 Microsoft Entra sign-in logs and audit logs were partially lost. The logs were not generated and cannot be recovered. The fix was applied beginning on 19 September 2024, with the logs complete again from 16:00 UTC on 19 September 2024.",
      publishedAt: "2024-09-20T10:00:00Z",
      impactStart: "2024-09-02T23:00:00Z",
      impactEnd: "2024-09-19T16:00:00Z",
      services: ["Microsoft Entra ID"],
      tenants: [FABRIKAM, CONTOSO],
    },
    "2024-09-20T10:00:00Z",
  );
  const northwindOnly = notice(
    {
      title: "Microsoft Defender for Cloud – security alerts missing for Northwind subscriptions",
      body: "Starting around 23:00 UTC on 2 September 2024, Microsoft Defender for Cloud alerts for the Northwind subscriptions were not generated and cannot be recovered. The fix was applied beginning on 19 September 2024; alerts are complete again from 16:00 UTC on 19 September 2024.",
      publishedAt: "2024-09-26T08:00:00Z",
      services: ["Microsoft Defender for Cloud"],
      tenants: [NORTHWIND],
    },
    "2024-09-26T08:00:00Z",
  );
  return [
    { revisions: serviceHealth, tenants: [CONTOSO, NORTHWIND] },
    { revisions: [{ notice: operator, receivedAt: "2024-09-20T10:00:02.000Z" }], tenants: [FABRIKAM, CONTOSO] },
    { revisions: [{ notice: northwindOnly, receivedAt: "2024-09-26T08:00:03.000Z" }], tenants: [NORTHWIND] },
  ];
}

export function tenantProfiles(): TenantProfile[] {
  return Object.entries(TENANTS).map(([tenantId, t]) => ({
    tenantId,
    name: t.name,
    subscriptions: [],
    regions: ["West Europe"],
    logSources: t.sources,
    licence: t.licence,
    onboardedAt: "2024-01-01T00:00:00.000Z",
    contacts: { emails: ["soc@example.com"] },
  }));
}

const STREAMS: Partial<Record<ControlType, string[]>> = {
  "signin-review": ["signIns:v1.0", "signIns:beta"],
  "audit-review": ["directoryAudits"],
  "risk-review": ["riskDetections"],
};

function detection(d: Partial<Detection> & Pick<Detection, "rule" | "severity" | "subject" | "explanation" | "firstSeen">): Detection {
  return { lastSeen: d.firstSeen, count: 1, sampleIds: [], ipAddresses: [], ...d };
}

/** Findings per tenant and source (the sign-in ones carry sample ids and IPs, as detectors write them). */
function detectionsFor(tenantId: string, source: LogSourceId): Detection[] {
  if (tenantId === CONTOSO && source === "entra-signin") {
    return [
      detection({ rule: "password-spray", severity: "high", subject: { kind: "ip", id: "185.220.101.34" }, explanation: "185.220.101.34 failed sign-ins for 23 accounts in 40 minutes (error 50126), then signed in as megan.bowen@contoso-health.example.", firstSeen: "2024-09-07T02:14:00.000Z", lastSeen: "2024-09-07T02:54:00.000Z", count: 64, sampleIds: ["5f3c2b1a-0001-4d2e-9a1b-000000000001", "5f3c2b1a-0002-4d2e-9a1b-000000000002", "5f3c2b1a-0003-4d2e-9a1b-000000000003"], ipAddresses: ["185.220.101.34"] }),
      detection({ rule: "mfa-fatigue", severity: "medium", subject: { kind: "user", id: "7e1b2c3d-0000-4000-8000-000000000042", name: "adele.vance@contoso-health.example" }, explanation: "14 MFA prompts denied or unanswered in 25 minutes, then one approved (error 500121 then success).", firstSeen: "2024-09-11T21:02:00.000Z", lastSeen: "2024-09-11T21:27:00.000Z", count: 15, sampleIds: ["9a8b7c6d-0001-4f00-8000-0000000000aa"], ipAddresses: ["203.0.113.77"] }),
      detection({ rule: "impossible-travel", severity: "medium", subject: { kind: "user", id: "7e1b2c3d-0000-4000-8000-000000000007", name: "lee.gu@contoso-health.example" }, explanation: "Sign-ins from Amsterdam (NL) and Singapore (SG) 48 minutes apart: 10,500 km at 13,100 km/h.", firstSeen: "2024-09-15T08:10:00.000Z", lastSeen: "2024-09-15T08:58:00.000Z", count: 2, sampleIds: ["1c2d3e4f-0001-4a00-8000-0000000000bb", "1c2d3e4f-0002-4a00-8000-0000000000cc"], ipAddresses: ["145.131.8.20", "119.74.30.9"] }),
    ];
  }
  if (tenantId === CONTOSO && source === "entra-audit") {
    return [detection({ rule: "consent-grant", severity: "high", subject: { kind: "app", id: "c0ffee00-0000-4000-8000-00000000beef", name: "Mail Archiver Pro" }, explanation: "megan.bowen@contoso-health.example granted Mail.ReadWrite and offline_access to the unverified app Mail Archiver Pro, 3 hours after the password spray.", firstSeen: "2024-09-07T05:41:00.000Z", sampleIds: ["Directory_0b1c2d3e-0001"] })];
  }
  if (tenantId === CONTOSO && source === "entra-risk") {
    return [detection({ rule: "risk-detection", severity: "low", subject: { kind: "user", id: "7e1b2c3d-0000-4000-8000-000000000042", name: "adele.vance@contoso-health.example" }, explanation: "Identity Protection: unfamiliarFeatures (risk level low) for adele.vance@contoso-health.example.", firstSeen: "2024-09-11T21:27:00.000Z", sampleIds: ["rd-0001"] })];
  }
  if (tenantId === FABRIKAM && source === "entra-signin") {
    return [detection({ rule: "brute-force-success", severity: "high", subject: { kind: "user", id: "11aa22bb-0000-4000-8000-000000000003", name: "baker@fabrikam-bakeries.example" }, explanation: "31 failed sign-ins (error 50126) from 45.95.147.12 in 12 minutes, then a successful one.", firstSeen: "2024-09-16T03:33:00.000Z", lastSeen: "2024-09-16T03:45:00.000Z", count: 32, sampleIds: ["aa00bb11-0001-4c00-8000-000000000001", "aa00bb11-0002-4c00-8000-000000000002"], ipAddresses: ["45.95.147.12"] })];
  }
  if (tenantId === NORTHWIND && source === "entra-signin") {
    return [detection({ rule: "legacy-auth-success", severity: "medium", subject: { kind: "user", id: "22bb33cc-0000-4000-8000-000000000009", name: "scanner@northwind.example" }, explanation: "IMAP sign-in succeeded for scanner@northwind.example (legacy authentication).", firstSeen: "2024-09-05T10:00:00.000Z", sampleIds: ["nw-0001"], ipAddresses: ["198.51.100.5"] })];
  }
  return [];
}

/** Writes the whole scenario through the real stores (tenants, notices, ledger, planner, control runs, findings). */
export async function seedSeptember(services: Services): Promise<Seeded> {
  const seeded: Seeded = { windows: new Map(), controls: new Map(), findings: new Map(), notices: new Map() };
  await services.tenants.putMany(tenantProfiles(), new Date("2024-09-01T00:00:00Z"));

  for (const n of scenarioNotices()) {
    for (const r of n.revisions) await services.notices.storeRevision(r.notice, undefined, new Date(r.receivedAt));
    const latest = n.revisions[n.revisions.length - 1]?.notice as Notice;
    const record = await services.notices.getNotice(latest.source, latest.id);
    if (!record) throw new Error("notice not stored");
    const ok = await services.notices.markProcessed(latest.source, latest.id, record.etag, new Date("2024-10-03T18:01:00Z"), { relevant: true, unmatched: false, assessment: assessNotice(latest), tenants: n.tenants }, [], latest);
    if (!ok) throw new Error("notice not marked processed");
    for (const t of n.tenants) seeded.notices.set(t, [...(seeded.notices.get(t) ?? []), noticeKey(latest)]);
  }
  const keysOf = (tenantId: string): string[] => seeded.notices.get(tenantId) ?? [];
  const defenderKey = seeded.notices.get(NORTHWIND)?.at(-1);

  for (const [tenantId, t] of Object.entries(TENANTS)) {
    const retention = retentionDays(t.licence);
    const reviewAt = tenantId === FABRIKAM ? FABRIKAM_REVIEW_AT : PREMIUM_REVIEW_AT;
    const windows: BlindWindow[] = [];
    const controls: ControlSummary[] = [];
    const findings: Finding[] = [];
    for (const source of t.sources) {
      // The Northwind-only notice is about Defender for Cloud; the others about Entra and Sentinel.
      const notices = keysOf(tenantId).filter((k) => (k === defenderKey) === (source === "defender-cloud"));
      const [window] = mergeWindows(
        tenantId,
        source,
        notices.map((noticeKey) => ({ noticeKey, effect: "loss" as const, start: WINDOW.start, end: WINDOW.end, confirmed: true, history: [] })),
        retention,
      );
      if (!window) throw new Error("no window");
      await services.ledger.replaceWindows(tenantId, source, [window]);
      windows.push(window);
      await services.controls.plan(window, CONTROLS_BY_SOURCE[source], new Date(reviewAt));

      const lost = tenantId === FABRIKAM && (source === "entra-signin" || source === "entra-audit");
      const reviewedFrom = lost ? FABRIKAM_RETAINED_FROM : WINDOW.start;
      const tail = source === "entra-risk" ? 2 * 86_400_000 : 0;
      const reviewedTo = new Date(Date.parse(WINDOW.end) + tail).toISOString();
      let seed = 7 + source.length;
      for (let i = 0; i < tenantId.length; i++) seed = (Math.imul(seed, 31) + tenantId.charCodeAt(i)) | 0;
      const scale = source === "entra-signin" ? t.scale : source === "entra-audit" ? Math.ceil(t.scale / 12) : 2;
      const hourly = diurnalHourly(seed, reviewedFrom, reviewedTo, scale);
      const total = sum(hourly);
      const detections = detectionsFor(tenantId, source);
      const reviewControl: Finding["control"] = source === "entra-signin" ? "signin-review" : source === "entra-audit" ? "audit-review" : "risk-review";
      const sourceFindings = detections.map((d): Finding => ({ ...d, id: findingId(tenantId, window.windowId, d), tenantId, windowId: window.windowId, source, control: reviewControl }));
      if (lost) {
        const d = detection({
          rule: "evidence-lost",
          severity: "high",
          subject: { kind: "tenant", id: tenantId },
          explanation: `253 hours of the blind window (${WINDOW.start} → ${FABRIKAM_RETAINED_FROM}) had already left Entra's 7-day retention (free licence) when the review began: those ${source} records are gone for good and could not be reviewed or preserved.`,
          firstSeen: WINDOW.start,
          lastSeen: FABRIKAM_RETAINED_FROM,
        });
        sourceFindings.push({ ...d, id: findingId(tenantId, window.windowId, d), tenantId, windowId: window.windowId, source, control: source === "entra-signin" ? "signin-review" : "audit-review" });
      }
      findings.push(...sourceFindings);

      for (const control of CONTROLS_BY_SOURCE[source]) {
        const row = await services.controlRuns.get(tenantId, window.windowId, control);
        if (!row) throw new Error(`control ${control} not planned`);
        const claimed = await services.controlRuns.claim(row, "report-test", new Date(Date.parse(reviewAt) + 600_000), new Date(reviewAt));
        if (!claimed) throw new Error("claim failed");
        const streams = STREAMS[control === "preserve" ? (source === "entra-signin" ? "signin-review" : "audit-review") : control] ?? [];
        const recordsRead: Record<string, number> = {};
        if (streams.length === 2) {
          recordsRead[streams[0] ?? ""] = Math.round(total * 0.62);
          recordsRead[streams[1] ?? ""] = total - Math.round(total * 0.62);
        } else if (streams.length === 1) {
          recordsRead[streams[0] ?? ""] = total;
        }
        const isReview = control !== "preserve" && control !== "hunt-checklist";
        const summary: ControlSummary = {
          tenantId,
          windowId: window.windowId,
          source,
          control,
          state: "done",
          windowStart: window.start,
          windowEnd: window.end,
          reviewDeadline: window.reviewDeadline,
          startedAt: reviewAt,
          finishedAt: new Date(Date.parse(reviewAt) + 3_540_000).toISOString(),
          recordsRead: control === "hunt-checklist" ? {} : recordsRead,
          pages: control === "hunt-checklist" ? 0 : Math.ceil(total / 1000) + 17,
          throttledWaits: control === "signin-review" ? 3 : 0,
          durationMs: control === "hunt-checklist" ? 0 : 1_234_000 + total * 3,
          coverage: control === "hunt-checklist"
            ? { reviewedFrom: window.start, reviewedTo: window.end, lostFrom: null, lostTo: null }
            : { reviewedFrom, reviewedTo, lostFrom: lost ? WINDOW.start : null, lostTo: lost ? FABRIKAM_RETAINED_FROM : null },
          findings: isReview ? sourceFindings.length : 0,
          ...(isReview ? { hourly } : {}),
          ...(control === "preserve"
            ? { evidence: { manifestPath: evidenceManifestPath({ tenantId, source, windowId: window.windowId, from: reviewedFrom, to: reviewedTo }), blobs: Math.ceil((Date.parse(reviewedTo) - Date.parse(reviewedFrom)) / 86_400_000), records: total } }
            : {}),
        };
        const saved = await services.controlRuns.save(claimed, { summary, urgency: window.reviewDeadline });
        if (!saved) throw new Error("save failed");
        controls.push(summary);
      }
    }
    if (findings.length > 0) await services.findings.putFindings(findings);
    seeded.windows.set(tenantId, windows);
    seeded.controls.set(tenantId, controls);
    seeded.findings.set(tenantId, findings);
  }
  return seeded;
}

/** Hunt queries for the report's non-Graph sources, in the shape of shared/domain/huntQueries.ts. */
export const scenarioHunts: HuntQueriesFor = (window) => [
  {
    id: `${window.source}-signin-anomalies`,
    product: window.source === "sentinel" ? "Microsoft Sentinel" : "Microsoft Defender for Cloud",
    title: "Sign-ins from new countries during the blind window",
    why: "Sentinel lost part of SigninLogs between these times; correlate with what Entra still holds.",
    kql: `SigninLogs\n| where TimeGenerated between (datetime(${window.start}) .. datetime(${window.end ?? "now"}))\n| summarize count() by Location, UserPrincipalName\n| where count_ < 3`,
  },
];

/** An in-memory ReportTaskSource: the report's port, as the task store will be adapted to it. */
export class FixedTasks implements ReportTaskSource {
  constructor(private readonly byTenant: Readonly<Record<string, ReportTaskItem[]>>) {}
  async *listTasks(tenantId: string): AsyncIterable<ReportTaskItem> {
    for (const t of this.byTenant[tenantId] ?? []) yield await Promise.resolve(t);
  }
}

export function scenarioTasks(seeded: Seeded): FixedTasks {
  const signinWindow = (tenantId: string): string => seeded.windows.get(tenantId)?.find((w) => w.source === "entra-signin")?.windowId ?? "";
  return new FixedTasks({
    [CONTOSO]: [
      {
        id: `${CONTOSO}.${signinWindow(CONTOSO)}`,
        windowId: signinWindow(CONTOSO),
        title: "Contoso Health: review Entra sign-ins for 2 Sep 23:00 – 19 Sep 16:00 UTC",
        status: "acknowledged",
        dueDate: "2024-10-02T23:00:00.000Z",
        acknowledgedBy: "alice.soc@contoso-health.example",
        acknowledgedAt: "2024-09-24T19:12:00.000Z",
        deliveries: [
          { channel: "planner", state: "sent", sentAt: "2024-09-24T18:02:00.000Z" },
          { channel: "teams", state: "sent", sentAt: "2024-09-24T18:02:01.000Z" },
          { channel: "email", state: "sent", sentAt: "2024-09-24T18:02:02.000Z" },
        ],
      },
    ],
    [FABRIKAM]: [
      {
        id: `${FABRIKAM}.${signinWindow(FABRIKAM)}`,
        windowId: signinWindow(FABRIKAM),
        title: "Fabrikam Bakeries: review Entra sign-ins for 2 Sep 23:00 – 19 Sep 16:00 UTC",
        status: "done",
        dueDate: "2024-09-09T23:00:00.000Z",
        acknowledgedBy: "it@fabrikam-bakeries.example",
        acknowledgedAt: "2024-09-20T13:00:00.000Z",
        doneBy: "it@fabrikam-bakeries.example",
        doneAt: "2024-09-21T09:30:00.000Z",
        deliveries: [{ channel: "email", state: "sent", sentAt: "2024-09-20T12:05:00.000Z" }],
      },
    ],
  });
}
