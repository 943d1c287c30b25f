/**
 * `report [--tenant ID] [--out DIR] [--json]`: the incident report of each tenant (issue 7), as a self-contained HTML
 * page and a Markdown file, `DIR/<tenant-name-slug>-<tenantId>.html|.md` (default DIR `./reports`). Reads storage,
 * writes only the report files.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildIncidentReport, reportTasksFromStores, type IncidentReport, type ReportTaskSource } from "../../shared/app/incidentReport.js";
import { defaultHuntQueries, type HuntQueriesFor } from "../../shared/app/taskHuntQueries.js";
import { reportSlug, visibleText } from "../../shared/domain/incidentReportModel.js";
import { renderReportHtml } from "../../shared/domain/reportHtml.js";
import { renderReportMarkdown } from "../../shared/domain/reportMarkdown.js";
import { AppError } from "../../shared/errors.js";
import type { Services } from "../../shared/runtime.js";
import { CliError, type CommandRegistrar } from "../program.js";
import { withStorage } from "../storage.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface WriteReportsOptions {
  /** Only this tenant; every registered tenant when absent. */
  tenantId?: string | undefined;
  outDir: string;
  /** The report's time (open windows end there). */
  now: Date;
  /** Tasks and their deliveries; the Tasks and Deliveries tables by default. */
  tasks?: ReportTaskSource | undefined;
  /** Hunt queries for non-Graph sources (defaults to the one the tasks use). */
  huntQueries?: HuntQueriesFor | undefined;
}

export interface WrittenReport {
  tenantId: string;
  name: string;
  html: string;
  markdown: string;
  report: IncidentReport;
}

/**
 * Builds and writes the report of one tenant or of every registered tenant; returns what it wrote. Used by the
 * `report` command and by the demo.
 */
export async function writeReports(services: Pick<Services, "notices" | "tenants" | "ledger" | "controlRuns" | "findings" | "tasks" | "deliveries">, options: WriteReportsOptions): Promise<WrittenReport[]> {
  const tenantIds: string[] = [];
  if (options.tenantId !== undefined) {
    tenantIds.push(options.tenantId.toLowerCase());
  } else {
    for await (const t of services.tenants.list()) tenantIds.push(t.tenantId);
    tenantIds.sort();
  }
  const deps = {
    notices: services.notices,
    tenants: services.tenants,
    ledger: services.ledger,
    controls: services.controlRuns,
    findings: services.findings,
    tasks: options.tasks ?? reportTasksFromStores(services.tasks, services.deliveries),
    huntQueries: options.huntQueries ?? defaultHuntQueries,
  };
  await mkdir(options.outDir, { recursive: true });
  const written: WrittenReport[] = [];
  for (const tenantId of tenantIds) {
    const report = await buildIncidentReport(deps, tenantId, options.now.toISOString());
    const base = path.join(options.outDir, `${reportSlug(report.tenant.name)}-${report.tenant.tenantId}`);
    const html = `${base}.html`;
    const markdown = `${base}.md`;
    await writeFile(html, renderReportHtml(report), "utf8");
    await writeFile(markdown, renderReportMarkdown(report), "utf8");
    written.push({ tenantId: report.tenant.tenantId, name: report.tenant.name, html, markdown, report });
  }
  return written;
}

export const registerReport: CommandRegistrar = (program, io) => {
  program
    .command("report")
    .description("write each tenant's incident report (HTML and Markdown): notices, windows, lost evidence, controls, findings, tasks")
    .option("--tenant <id>", "only this tenant (GUID)")
    .option("--out <dir>", "directory to write to", "reports")
    .option("--json", "print the report models as JSON only")
    .action(async (options: { tenant?: string; out: string; json?: boolean }) => {
      if (options.tenant !== undefined && !GUID.test(options.tenant)) throw new CliError(`--tenant must be a tenant id (GUID), not "${options.tenant.slice(0, 80)}"`);
      await withStorage(io, async (services) => {
        let written: WrittenReport[];
        try {
          written = await writeReports(services, { tenantId: options.tenant, outDir: options.out, now: services.clock.now() });
        } catch (error) {
          if (error instanceof AppError) throw new CliError(error.message);
          if (error instanceof Error && "code" in error && typeof error.code === "string" && /^E[A-Z]+$/.test(error.code)) {
            throw new CliError(`cannot write reports to ${options.out}: ${error.code}`);
          }
          throw error;
        }
        if (options.json) {
          io.out(JSON.stringify({ reports: written.map((w) => ({ files: { html: w.html, markdown: w.markdown }, ...w.report })) }));
          return;
        }
        if (written.length === 0) {
          io.out("no tenants registered: no reports written");
          return;
        }
        for (const w of written) {
          const s = w.report.summary;
          io.out(`${w.html}\n${w.markdown}\n  ${visibleText(w.name)}: ${String(s.windows)} windows, ${String(s.lostHours)} hours lost to retention, ${String(s.findings)} findings`);
        }
      });
    });
};
