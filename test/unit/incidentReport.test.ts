import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { buildIncidentReport, reportTasksFromStores, type IncidentReport, type IncidentReportDeps } from "../../shared/app/incidentReport.js";
import { refreshTask } from "../../shared/app/refreshTask.js";
import { acknowledgeTask } from "../../shared/app/taskStatus.js";
import { taskDeps } from "../../shared/taskRuntime.js";
import { defaultHuntQueries } from "../../shared/app/taskHuntQueries.js";
import { hoursTouched } from "../../shared/domain/incidentReportModel.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { compareFindings, findingId, type Finding } from "../../shared/domain/finding.js";
import type { Services } from "../../shared/runtime.js";
import { registerReport, writeReports } from "../../cli/commands/report.js";
import { runCli, type CliIo } from "../../cli/program.js";
import { emptyAccount } from "../support/azurite.js";
import { testServices } from "../support/storage.js";
import {
  CONTOSO,
  FABRIKAM,
  FABRIKAM_RETAINED_FROM,
  NORTHWIND,
  REPORT_AT,
  WINDOW,
  scenarioHunts,
  scenarioTasks,
  seedSeptember,
  type Seeded,
} from "../support/reportScenario.js";

/**
 * The incident report's model, built from real stores (embedded Azurite) after the September 2024 scenario was
 * written through them: every figure must be the one stored, not a template's.
 */

let azurite: EmbeddedAzurite;
let services: Services;
let seeded: Seeded;
let deps: IncidentReportDeps;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  await emptyAccount(azurite, ["table", "queue"]);
  ({ services } = testServices(azurite));
  seeded = await seedSeptember(services);
  deps = { notices: services.notices, tenants: services.tenants, ledger: services.ledger, controls: services.controlRuns, findings: services.findings, tasks: scenarioTasks(seeded), huntQueries: scenarioHunts };
}, 120_000);
afterAll(async () => {
  await azurite.stop();
});

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);
const stored = <T>(map: Map<string, T[]>, tenantId: string): T[] => map.get(tenantId) ?? [];

describe("buildIncidentReport against Azurite (September 2024)", () => {
  let fabrikam: IncidentReport;
  let contoso: IncidentReport;
  beforeAll(async () => {
    fabrikam = await buildIncidentReport(deps, FABRIKAM, REPORT_AT);
    contoso = await buildIncidentReport(deps, CONTOSO, REPORT_AT);
  });

  it("names the tenant, its licence and retention", () => {
    expect(fabrikam.tenant).toEqual({ tenantId: FABRIKAM, name: "Fabrikam Bakeries", licence: "free", retentionDays: 7 });
    expect(contoso.tenant).toEqual({ tenantId: CONTOSO, name: "Contoso Health", licence: "p2", retentionDays: 30 });
    expect(fabrikam.generatedAt).toBe(REPORT_AT);
  });

  it("lists the windows as the ledger holds them", () => {
    const windows = stored(seeded.windows, FABRIKAM);
    expect(fabrikam.windows.map((w) => [w.windowId, w.source, w.start, w.end, w.status, w.effect, w.reviewDeadline, w.notices])).toEqual(
      windows.map((w) => [w.windowId, w.source, w.start, w.end, w.status, w.effect, w.reviewDeadline, w.notices]),
    );
    expect(fabrikam.windows.every((w) => w.hours === 401)).toBe(true); // 2 Sep 23:00 → 19 Sep 16:00
    expect(fabrikam.summary.blindHours).toBe(401 * windows.length);
  });

  it("shows each notice's revisions in publication order, with the stage and the window each one stated", () => {
    const serviceHealth = contoso.notices.find((n) => n.source === "azure-monitor");
    expect(serviceHealth?.revisions.map((r) => [r.stage, r.publishedAt.slice(0, 10), r.statedWindow.start, r.statedWindow.end])).toEqual([
      ["Active", "2024-09-24", "2024-09-02T23:00:00.000Z", null],
      ["Resolved", "2024-09-25", "2024-09-02T23:00:00.000Z", "2024-09-19T16:00:00.000Z"],
      ["RCA", "2024-10-03", "2024-09-02T23:00:00.000Z", "2024-09-19T16:00:00.000Z"],
    ]);
    expect(serviceHealth?.revisions.map((r) => r.receivedAt)).toEqual(["2024-09-24T17:10:05.000Z", "2024-09-25T09:00:04.000Z", "2024-10-03T18:00:07.000Z"]);
    // Only notices whose outcome lists the tenant.
    expect(contoso.notices.map((n) => n.key).sort()).toEqual([...(seeded.notices.get(CONTOSO) ?? [])].sort());
    expect(fabrikam.notices.map((n) => n.key)).toEqual(seeded.notices.get(FABRIKAM));
  });

  it("states the evidence retention took: 253 sign-in hours and 253 audit hours for the Free tenant, none for P2", () => {
    expect(fabrikam.evidenceLost.map((e) => [e.source, e.from, e.to, e.hours, e.retentionDays])).toEqual([
      ["entra-signin", WINDOW.start, FABRIKAM_RETAINED_FROM, 253, 7],
      ["entra-audit", WINDOW.start, FABRIKAM_RETAINED_FROM, 253, 7],
    ]);
    expect(fabrikam.evidenceLost.every((e) => e.explanation?.includes("gone for good"))).toBe(true);
    expect(fabrikam.summary.lostHours).toBe(506);
    expect(fabrikam.summary.lostHoursBySource).toEqual({ "entra-signin": 253, "entra-audit": 253 });
    expect(contoso.evidenceLost).toEqual([]);
    expect(contoso.summary.lostHours).toBe(0);
  });

  it("reports records read per control and per source exactly as the controls stored them", () => {
    for (const [tenantId, report] of [[FABRIKAM, fabrikam], [CONTOSO, contoso]] as const) {
      const controls = stored(seeded.controls, tenantId);
      expect(report.controls).toHaveLength(controls.length);
      for (const c of controls) {
        const shown = report.controls.find((x) => x.windowId === c.windowId && x.control === c.control);
        expect(shown?.recordsRead).toEqual(c.recordsRead);
        expect(shown?.records).toBe(sum(Object.values(c.recordsRead)));
        expect(shown?.coverage).toEqual(c.coverage);
        expect(shown?.hoursRead).toBe(c.hourly ? Object.keys(c.hourly).length : null);
        expect(shown?.evidence ?? undefined).toEqual(c.evidence);
      }
      for (const s of report.sources) {
        const reviews = controls.filter((c) => c.source === s.source && c.control.endsWith("-review"));
        expect(s.records).toBe(sum(reviews.flatMap((c) => Object.values(c.recordsRead))));
      }
      expect(report.summary.recordsRead).toBe(sum(controls.filter((c) => c.control.endsWith("-review")).flatMap((c) => Object.values(c.recordsRead))));
    }
    const signins = fabrikam.sources.find((s) => s.source === "entra-signin");
    expect(signins?.hoursLost).toBe(253);
    expect(signins?.hoursRead).toBe(148); // 13 Sep 12:00 → 19 Sep 16:00
    expect(Object.keys(signins?.streams ?? {}).sort()).toEqual(["signIns:beta", "signIns:v1.0"]);
  });

  it("charts the stored hourly sign-ins across the window ±1 day, marking blind, reviewed and lost hours", () => {
    expect(fabrikam.charts).toHaveLength(1);
    const chart = fabrikam.charts[0];
    const review = stored(seeded.controls, FABRIKAM).find((c) => c.control === "signin-review");
    const hourly = review?.hourly ?? {};
    expect(chart?.from).toBe("2024-09-01T23");
    expect(chart?.to).toBe("2024-09-20T15");
    expect(chart?.hours).toHaveLength(401 + 48);
    expect(chart?.totals.signIns).toBe(sum(Object.values(hourly)));
    expect(chart?.totals.signIns).toBe(sum(Object.values(review?.recordsRead ?? {})));
    expect(chart?.totals.reviewedHours).toBe(Object.keys(hourly).length);
    expect(chart?.totals.blindHours).toBe(401);
    expect(chart?.totals.lostHours).toBe(253);
    expect(chart?.totals.lostHours).toBe(hoursTouched(Date.parse(WINDOW.start), Date.parse(FABRIKAM_RETAINED_FROM)));
    for (const h of chart?.hours ?? []) {
      expect(h.signIns).toBe(hourly[h.hour] ?? null);
      expect(h.lost).toBe(h.hour >= "2024-09-02T23" && h.hour < "2024-09-13T12");
      expect(h.blind).toBe(h.hour >= "2024-09-02T23" && h.hour < "2024-09-19T16");
    }
    const contosoChart = contoso.charts[0];
    expect(contosoChart?.totals.lostHours).toBe(0);
    expect(contosoChart?.totals.reviewedHours).toBe(401);
  });

  it("lists every stored finding, most severe first, with sample ids and the window's evidence manifest", () => {
    const findings = stored(seeded.findings, CONTOSO);
    expect(contoso.findings.map((f) => f.id)).toEqual([...findings].sort(compareFindings).map((f) => f.id));
    expect(contoso.summary.findings).toBe(findings.length);
    expect(contoso.summary.findingsBySeverity).toEqual({ high: 2, medium: 2, low: 1, informational: 0 });
    const spray = contoso.findings.find((f) => f.rule === "password-spray");
    const preserve = stored(seeded.controls, CONTOSO).find((c) => c.source === "entra-signin" && c.control === "preserve");
    expect(spray?.sampleIds).toEqual(findings.find((f) => f.rule === "password-spray")?.sampleIds);
    expect(spray?.evidenceManifest).toBe(preserve?.evidence?.manifestPath);
    expect(spray?.evidenceManifest).toMatch(/^signins\/d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708\/manifests\//);
    // A risk detection has no preserve control: no manifest.
    expect(contoso.findings.find((f) => f.rule === "risk-detection")?.evidenceManifest).toBeNull();
    expect(fabrikam.findings.filter((f) => f.rule === "evidence-lost").every((f) => f.evidenceManifest === null)).toBe(true);
  });

  it("includes hunt queries for the non-Graph windows and the tasks with who acknowledged them", () => {
    expect(contoso.huntQueries.map((q) => [q.source, q.id])).toEqual([["sentinel", "sentinel-signin-anomalies"]]);
    expect(contoso.huntQueries[0]?.kql).toContain("datetime(2024-09-02T23:00:00.000Z) .. datetime(2024-09-19T16:00:00.000Z)");
    expect(fabrikam.huntQueries).toEqual([]);
    expect(contoso.tasks?.map((t) => [t.status, t.acknowledgedBy, t.deliveries.length])).toEqual([["acknowledged", "alice.soc@contoso-health.example", 3]]);
    expect(contoso.summary.tasks).toEqual({ open: 0, acknowledged: 1, done: 0 });
  });

  it("with the project's hunt queries, lists KQL for the Sentinel window only, with the window's instants", async () => {
    const report = await buildIncidentReport({ ...deps, huntQueries: defaultHuntQueries }, CONTOSO, REPORT_AT);
    expect(report.huntQueries.length).toBeGreaterThan(0);
    expect(new Set(report.huntQueries.map((q) => q.source))).toEqual(new Set(["sentinel"]));
    for (const q of report.huntQueries) expect(q.kql).toContain("datetime(2024-09-02T23:00:00Z)");
  });

  it("says no tasks are recorded without a task source", async () => {
    const report = await buildIncidentReport({ ...deps, tasks: undefined }, CONTOSO, REPORT_AT);
    expect(report.tasks).toBeNull();
    expect(report.summary.tasks).toBeNull();
  });

  it("holds no other tenant's id or notice", () => {
    const text = JSON.stringify(fabrikam);
    expect(text).not.toContain(CONTOSO);
    expect(text).not.toContain(NORTHWIND);
    expect(text).not.toContain("Northwind");
    expect(JSON.stringify(contoso)).not.toContain(FABRIKAM);
    expect(JSON.stringify(contoso)).not.toContain(NORTHWIND);
  });

  it("refuses a tenant that is not registered", async () => {
    await expect(buildIncidentReport(deps, "00000000-0000-4000-8000-000000000000", REPORT_AT)).rejects.toThrow(/not registered/);
  });
});

describe("reportTasksFromStores: the Tasks and Deliveries tables behind the report's task port", () => {
  it("shows the task the pipeline created for a window, who acknowledged it and its deliveries", async () => {
    const { log } = testServices(azurite);
    const tasking = taskDeps(services, log.logger);
    const window = stored(seeded.windows, CONTOSO).find((w) => w.source === "entra-signin");
    const refreshed = await refreshTask(tasking, CONTOSO, window?.windowId ?? "", new Date("2024-09-24T18:05:00Z"));
    expect(refreshed.outcome).toBe("created");
    await acknowledgeTask({ ...tasking, clock: { now: () => new Date("2024-09-24T19:12:00Z") } }, refreshed.taskId ?? "", { by: "alice.soc@contoso-health.example" });
    // What the delivery worker records once an e-mail went out (the outbox row of the channel).
    const taskIdValue = refreshed.taskId ?? "";
    expect(await services.deliveries.put({ taskId: taskIdValue, key: "email", tenantId: CONTOSO, state: "sent", wantedHash: "h1", sentHash: "h1", sentAt: "2024-09-24T18:06:00.000Z", attempts: 1, updatedAt: "2024-09-24T18:06:00.000Z" }, undefined)).toBe(true);
    const source = reportTasksFromStores(services.tasks, services.deliveries);
    const report = await buildIncidentReport({ ...deps, tasks: source }, CONTOSO, REPORT_AT);
    const saved = await services.tasks.get(CONTOSO, refreshed.taskId ?? "");
    expect(report.tasks?.map((t) => [t.id, t.windowId, t.title, t.status, t.acknowledgedBy, t.acknowledgedAt])).toEqual([
      [refreshed.taskId, window?.windowId, saved?.task.title, "acknowledged", "alice.soc@contoso-health.example", "2024-09-24T19:12:00.000Z"],
    ]);
    expect(report.tasks?.[0]?.deliveries).toEqual([{ channel: "email", state: "sent", sentAt: "2024-09-24T18:06:00.000Z" }]);
    // Fabrikam has no task: its report lists none, and never Contoso's.
    const fabrikam = await buildIncidentReport({ ...deps, tasks: source }, FABRIKAM, REPORT_AT);
    expect(fabrikam.tasks).toEqual([]);
  });
});

describe("writeReports and `report`", () => {
  it("writes one HTML and one Markdown file per tenant, named by slug and id", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bw-report-"));
    try {
      const written = await writeReports(services, { outDir: dir, now: new Date(REPORT_AT), tasks: scenarioTasks(seeded), huntQueries: scenarioHunts });
      expect(readdirSync(dir).sort()).toEqual([
        `contoso-health-${CONTOSO}.html`,
        `contoso-health-${CONTOSO}.md`,
        `fabrikam-bakeries-${FABRIKAM}.html`,
        `fabrikam-bakeries-${FABRIKAM}.md`,
        `northwind-logistics-${NORTHWIND}.html`,
        `northwind-logistics-${NORTHWIND}.md`,
      ]);
      const fab = written.find((w) => w.tenantId === FABRIKAM);
      const html = readFileSync(fab?.html ?? "", "utf8");
      expect(html).toContain("Entra&apos;s 7-day retention had already deleted 253 hours of sign-ins for this tenant when blindwindow began its review");
      expect(html).not.toContain(CONTOSO);
      expect(readFileSync(fab?.markdown ?? "", "utf8")).toContain("| hours lost to retention | 506 |");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`report --tenant ID --out DIR` prints the files; a bad tenant id is one line and exit 1", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bw-report-cli-"));
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s) };
    const previous = process.env.AzureWebJobsStorage;
    process.env.AzureWebJobsStorage = azurite.connectionString;
    try {
      expect(await runCli(["report", "--tenant", FABRIKAM, "--out", dir], [registerReport], io)).toBe(0);
      expect(out.join("\n")).toContain(path.join(dir, `fabrikam-bakeries-${FABRIKAM}.html`));
      expect(out.join("\n")).toContain("Fabrikam Bakeries: 2 windows, 506 hours lost to retention, 3 findings");

      out.length = 0;
      expect(await runCli(["report", "--tenant", FABRIKAM, "--out", dir, "--json"], [registerReport], io)).toBe(0);
      const json = JSON.parse(out.join("")) as { reports: IncidentReport[] };
      expect(json.reports.map((r) => r.summary.lostHours)).toEqual([506]);

      expect(await runCli(["report", "--tenant", "not-a-guid"], [registerReport], io)).toBe(1);
      expect(err.at(-1)).toMatch(/^blindwindow: --tenant must be a tenant id \(GUID\)/);
      expect(await runCli(["report", "--tenant", "00000000-0000-4000-8000-000000000000", "--out", dir], [registerReport], io)).toBe(1);
      expect(err.at(-1)).toBe("blindwindow: tenant 00000000-0000-4000-8000-000000000000 is not registered");
    } finally {
      if (previous === undefined) delete process.env.AzureWebJobsStorage;
      else process.env.AzureWebJobsStorage = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("buildIncidentReport: a window re-keyed by a later notice", () => {
  // Last in this file: it adds a predecessor to Northwind's sign-in window (gone from the ledger, its review handed
  // over: superseded, its figures and findings carried into the live window's), plus a detection only it holds.
  it("counts the live window's controls and each detection once, still lists the superseded control, keeps a finding only the gone window has", async () => {
    const before = await buildIncidentReport(deps, NORTHWIND, REPORT_AT);
    const live = stored(seeded.controls, NORTHWIND).find((c) => c.source === "entra-signin" && c.control === "signin-review");
    const liveFindings = stored(seeded.findings, NORTHWIND).filter((f) => f.source === "entra-signin");
    if (!live) throw new Error("no sign-in review seeded for Northwind");
    const liveWindow = stored(seeded.windows, NORTHWIND).find((w) => w.source === "entra-signin");
    const [first] = liveFindings;
    if (!liveWindow || !first) throw new Error("Northwind's sign-in window has no findings");
    const gone: BlindWindow = { ...liveWindow, windowId: "w-gone-predecessor" };
    await services.controls.plan(gone, ["signin-review"], new Date(REPORT_AT));
    const row = await services.controlRuns.get(NORTHWIND, gone.windowId, "signin-review");
    const claimed = row && (await services.controlRuns.claim(row, "report-test", new Date(Date.parse(REPORT_AT) + 600_000), new Date(REPORT_AT)));
    if (!claimed) throw new Error("claim failed");
    expect(await services.controlRuns.save(claimed, { summary: { ...live, windowId: gone.windowId, state: "superseded" }, urgency: gone.reviewDeadline })).toBeDefined();
    const only: Finding = { ...first, rule: "new-country", firstSeen: "2024-09-05T10:00:00.000Z", lastSeen: "2024-09-05T10:00:00.000Z" };
    await services.findings.putFindings([
      ...liveFindings.map((f) => ({ ...f, id: findingId(NORTHWIND, gone.windowId, f), windowId: gone.windowId })),
      { ...only, id: findingId(NORTHWIND, gone.windowId, only), windowId: gone.windowId },
    ]);

    const after = await buildIncidentReport(deps, NORTHWIND, REPORT_AT);
    expect(after.controls).toHaveLength(before.controls.length + 1);
    expect(after.controls.find((c) => c.windowId === gone.windowId)?.state).toBe("superseded");
    expect(after.summary.recordsRead).toBe(before.summary.recordsRead);
    expect(after.sources).toEqual(before.sources);
    expect(after.charts).toEqual(before.charts);
    expect(after.summary.lostHours).toBe(before.summary.lostHours);
    // The carried copies are not counted twice; the detection only the gone window holds is kept.
    expect(after.summary.findings).toBe(before.summary.findings + 1);
    expect(after.findings.filter((f) => f.windowId === gone.windowId).map((f) => f.rule)).toEqual(["new-country"]);
  });
});
