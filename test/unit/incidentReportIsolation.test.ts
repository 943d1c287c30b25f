import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildIncidentReport } from "../../shared/app/incidentReport.js";
import type { NoticeRecord, StoredRevision } from "../../shared/app/ports.js";
import type { ControlSummary } from "../../shared/app/reviewPorts.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { CONTROLS_BY_SOURCE } from "../../shared/domain/controlPlan.js";
import { SEVERITIES, type Finding } from "../../shared/domain/finding.js";
import { LOG_SOURCE_IDS } from "../../shared/domain/logSource.js";
import type { Notice } from "../../shared/domain/notice.js";
import { renderReportHtml } from "../../shared/domain/reportHtml.js";
import { renderReportMarkdown } from "../../shared/domain/reportMarkdown.js";
import { fakeDeps, tenant, type ReportWorld } from "../support/reportFakes.js";

/**
 * Tenant isolation as a property: whatever notices, windows, controls, findings and tasks several tenants have, and
 * whichever tenants each notice concerns, tenant A's report holds A's data only and never another tenant's id — in
 * the model, the HTML and the Markdown — even when the stores return every tenant's rows (a broken adapter).
 */

const NOW = "2024-10-04T09:00:00.000Z";
const BASE = Date.parse("2024-09-01T00:00:00.000Z");
const HOUR = 3_600_000;

const text = fc.string({ maxLength: 40, unit: "binary" });

interface TenantSpec {
  name: string;
  licence: "free" | "p1" | "p2";
  windows: { source: (typeof LOG_SOURCE_IDS)[number]; startHour: number; hours: number | null; records: number; lostHours: number }[];
  findings: { window: number; text: string; subject: string; severity: (typeof SEVERITIES)[number]; samples: string[] }[];
  tasks: { window: number; title: string; by: string }[];
}

const tenantSpec: fc.Arbitrary<TenantSpec> = fc.record({
  name: text,
  licence: fc.constantFrom("free" as const, "p1" as const, "p2" as const),
  windows: fc.array(
    fc.record({
      source: fc.constantFrom(...LOG_SOURCE_IDS),
      startHour: fc.integer({ min: 0, max: 400 }),
      hours: fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }),
      records: fc.nat({ max: 100_000 }),
      lostHours: fc.nat({ max: 50 }),
    }),
    { maxLength: 3 },
  ),
  findings: fc.array(fc.record({ window: fc.nat(), text, subject: text, severity: fc.constantFrom(...SEVERITIES), samples: fc.array(text, { maxLength: 3 }) }), { maxLength: 4 }),
  tasks: fc.array(fc.record({ window: fc.nat(), title: text, by: text }), { maxLength: 2 }),
});

const noticeSpec = fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), title: text, body: text, concerns: fc.array(fc.nat(), { maxLength: 4 }), revisions: fc.integer({ min: 1, max: 3 }) });

const worldSpec: fc.Arbitrary<WorldSpec> = fc.record({
  ids: fc.uniqueArray(fc.uuid(), { minLength: 2, maxLength: 4 }),
  tenants: fc.array(tenantSpec, { minLength: 4, maxLength: 4 }),
  notices: fc.array(noticeSpec, { maxLength: 5 }),
});

type WorldSpec = { ids: string[]; tenants: TenantSpec[]; notices: { id: string; title: string; body: string; concerns: number[]; revisions: number }[] };

function buildWorld(spec: WorldSpec): ReportWorld {
  const { ids, tenants, notices } = spec;
  const world: ReportWorld = { tenants: [], notices: [], windows: [], controls: [], findings: [], tasks: {} };
  ids.forEach((tenantId, t) => {
    const s = tenants[t] as TenantSpec;
    world.tenants.push(tenant(tenantId, s.name.trim() === "" ? `T${String(t)}` : s.name, s.licence));
    const windows: BlindWindow[] = s.windows.map((w, i) => {
      const start = new Date(BASE + w.startHour * HOUR).toISOString();
      const end = w.hours === null ? null : new Date(BASE + (w.startHour + w.hours) * HOUR).toISOString();
      return { tenantId, source: w.source, windowId: `w${String(t)}x${String(i)}`, start, end, effect: "loss", status: end === null ? "confirmed" : "resolved", notices: [`manual~n${String(t)}`], reviewDeadline: start, history: [] };
    });
    world.windows.push(...windows);
    windows.forEach((w, i) => {
      const ws = s.windows[i];
      if (!ws) return;
      const startMs = Date.parse(w.start);
      const hourly: Record<string, number> = {};
      for (let h = ws.lostHours; h < Math.min(ws.lostHours + 48, ws.hours ?? 48); h++) hourly[new Date(startMs + h * HOUR).toISOString().slice(0, 13)] = h;
      for (const control of CONTROLS_BY_SOURCE[w.source]) {
        const summary: ControlSummary = {
          tenantId,
          windowId: w.windowId,
          source: w.source,
          control,
          state: "done",
          windowStart: w.start,
          windowEnd: w.end,
          reviewDeadline: w.reviewDeadline,
          recordsRead: control === "hunt-checklist" ? {} : { stream: ws.records },
          pages: 1,
          throttledWaits: 0,
          durationMs: 10,
          coverage: {
            reviewedFrom: new Date(startMs + ws.lostHours * HOUR).toISOString(),
            reviewedTo: w.end ?? NOW,
            lostFrom: ws.lostHours > 0 ? w.start : null,
            lostTo: ws.lostHours > 0 ? new Date(startMs + ws.lostHours * HOUR).toISOString() : null,
          },
          findings: 0,
          ...(control.endsWith("-review") ? { hourly } : {}),
          ...(control === "preserve" ? { evidence: { manifestPath: `signins/${tenantId}/manifests/${w.windowId}.manifest.json`, blobs: 1, records: ws.records } } : {}),
        };
        world.controls.push(summary);
      }
    });
    s.findings.forEach((f, i) => {
      const w = windows.length > 0 ? windows[f.window % windows.length] : undefined;
      if (!w) return;
      const finding: Finding = {
        id: `f${String(t)}x${String(i)}`,
        tenantId,
        windowId: w.windowId,
        source: w.source,
        control: "signin-review",
        rule: i === 0 ? "evidence-lost" : "password-spray",
        severity: f.severity,
        subject: i === 0 ? { kind: "tenant", id: tenantId } : { kind: "user", id: f.subject === "" ? "u" : f.subject, name: f.text },
        explanation: f.text === "" ? "x" : f.text,
        firstSeen: w.start,
        lastSeen: w.end ?? NOW,
        count: 1,
        sampleIds: f.samples,
        ipAddresses: [],
      };
      world.findings.push(finding);
    });
    (world.tasks as Record<string, unknown[]>)[tenantId] = s.tasks.flatMap((k, i) => {
      const w = windows.length > 0 ? windows[k.window % windows.length] : undefined;
      return w ? [{ id: `${tenantId}.${w.windowId}.${String(i)}`, windowId: w.windowId, title: k.title, status: "acknowledged", dueDate: NOW, acknowledgedBy: k.by, acknowledgedAt: NOW, deliveries: [] }] : [];
    });
  });
  notices.forEach((n, k) => {
    const concerned = [...new Set(n.concerns.map((c) => ids[c % ids.length] as string))];
    const revisions: StoredRevision[] = Array.from({ length: n.revisions }, (_, r) => {
      const notice: Notice = {
        source: "manual",
        id: `${n.id}-${String(k)}`,
        revision: `r${String(r)}`,
        title: n.title,
        text: n.body,
        services: [],
        regions: [],
        // What a notice names about tenants must never reach another tenant's report.
        subscriptionIds: concerned.map((c) => `sub-of-${c}`),
        tenantIds: concerned,
        publishedAt: new Date(BASE + r * HOUR).toISOString(),
        synthetic: false,
      };
      return { notice, receivedAt: notice.publishedAt };
    });
    const last = revisions[revisions.length - 1]?.notice as Notice;
    const record: NoticeRecord = {
      source: "manual",
      id: last.id,
      lastRevision: last.revision,
      title: last.title,
      publishedAt: last.publishedAt,
      synthetic: false,
      state: "processed",
      updatedAt: NOW,
      contributionKeys: concerned.map((c) => `${c}~entra-signin`),
      etag: "*",
      outcome: { relevant: true, unmatched: concerned.length === 0, assessment: { relevant: true, synthetic: false, effect: "loss", sources: [], window: { start: null, end: null }, evidence: [] }, tenants: concerned },
    };
    world.notices.push({ record, revisions });
  });
  return world;
}

describe("incident report: tenant isolation (property)", () => {
  for (const leaky of [false, true]) {
    it(`tenant A's report holds only A's data and no other tenant's id${leaky ? ", even from stores that ignore the tenant" : ""}`, async () => {
      await fc.assert(
        fc.asyncProperty(worldSpec, async (spec) => {
          const world = buildWorld(spec);
          const deps = fakeDeps(world, { leaky });
          for (const tenantId of spec.ids) {
            const report = await buildIncidentReport(deps, tenantId, NOW);
            const others = spec.ids.filter((id) => id !== tenantId);
            for (const out of [JSON.stringify(report), renderReportHtml(report), renderReportMarkdown(report)]) {
              for (const other of others) expect(out).not.toContain(other);
            }
            expect(report.tenant.tenantId).toBe(tenantId);
            expect(report.notices.map((n) => n.id).sort()).toEqual(world.notices.filter((n) => n.record.outcome?.tenants.includes(tenantId)).map((n) => n.record.id).sort());
            expect(report.windows.map((w) => w.windowId).sort()).toEqual(world.windows.filter((w) => w.tenantId === tenantId).map((w) => w.windowId).sort());
            expect(report.controls).toHaveLength(world.controls.filter((c) => c.tenantId === tenantId).length);
            expect(report.findings.map((f) => f.id).sort()).toEqual(world.findings.filter((f) => f.tenantId === tenantId).map((f) => f.id).sort());
            expect(report.tasks?.map((k) => k.id).sort()).toEqual((world.tasks?.[tenantId] ?? []).map((k) => k.id).sort());
          }
        }),
        { numRuns: 60 },
      );
    });
  }
});
