import { execFile } from "node:child_process";
import { accessSync, constants, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { writeReports, type WrittenReport } from "../../cli/commands/report.js";
import { buildIncidentReport } from "../../shared/app/incidentReport.js";
import { renderReportHtml } from "../../shared/domain/reportHtml.js";
import { testServices } from "../support/storage.js";
import { diurnalHourly, FABRIKAM, REPORT_AT, scenarioHunts, scenarioTasks, seedSeptember } from "../support/reportScenario.js";
import { fakeDeps, hostileWorld, HOSTILE } from "../support/reportFakes.js";

/**
 * The incident report opened in a real browser: headless Chromium (Debian's `chromium`) loads the HTML the pipeline
 * wrote for the September 2024 scenario, takes a screenshot and dumps the DOM it built. The screenshot must be a real
 * 1200-pixel-wide PNG with far more in it than a blank page; the DOM must carry the stored figures, and the
 * attacker-controlled text must have produced no element. Set BLINDWINDOW_REPORT_SCREENSHOT=FILE to keep the PNG.
 */

const MISSING = "install Debian chromium (apt-get install -y chromium) — .ci/run does this";
const chromium = process.env.BLINDWINDOW_CHROMIUM ?? "/usr/bin/chromium";

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

let dir: string;
let azurite: EmbeddedAzurite | undefined;
let fabrikam: WrittenReport;
let profiles = 0;

/** Runs Chromium headless on a file with a fresh profile; returns stdout (the DOM for --dump-dom). */
function runChromium(args: string[], file: string): Promise<string> {
  const profile = path.join(dir, `profile-${String(profiles++)}`);
  const flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--window-size=1200,2000",
    ...args,
    pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    execFile(chromium, flags, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** PNG signature and the IHDR chunk's width and height (https://www.w3.org/TR/png/#5PNG-file-signature). */
function pngHeader(file: string): { signature: boolean; chunk: string; width: number; height: number } {
  const bytes = readFileSync(file);
  return {
    signature: bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    chunk: bytes.subarray(12, 16).toString("latin1"),
    width: bytes.readUInt32BE(16),
    height: bytes.readUInt32BE(20),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "bw-report-chromium-"));
  if (!executable(chromium)) return;
  azurite = await EmbeddedAzurite.start();
  const { services } = testServices(azurite);
  const seeded = await seedSeptember(services);
  const written = await writeReports(services, { tenantId: FABRIKAM, outDir: path.join(dir, "reports"), now: new Date(REPORT_AT), tasks: scenarioTasks(seeded), huntQueries: scenarioHunts });
  fabrikam = written[0] as WrittenReport;
}, 120_000);

afterAll(async () => {
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the incident report in headless Chromium", () => {
  it("is screenshotted as a 1200-pixel-wide PNG with much more in it than an empty page", async () => {
    if (!executable(chromium)) throw new Error(`${MISSING} (no executable at ${chromium})`);
    const blankHtml = path.join(dir, "blank.html");
    writeFileSync(blankHtml, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>blank</title></head><body></body></html>");
    const blankPng = path.join(dir, "blank.png");
    const reportPng = path.join(dir, "report.png");
    await runChromium([`--screenshot=${blankPng}`], blankHtml);
    await runChromium([`--screenshot=${reportPng}`], fabrikam.html);

    const header = pngHeader(reportPng);
    expect(header).toEqual({ signature: true, chunk: "IHDR", width: 1200, height: header.height });
    expect(header.height).toBeGreaterThanOrEqual(1000);
    const blank = statSync(blankPng).size;
    const report = statSync(reportPng).size;
    expect(pngHeader(blankPng).width).toBe(1200);
    // A blank page compresses to a few kilobytes; text, tables and a 449-bar chart do not.
    expect(report).toBeGreaterThan(Math.max(20 * blank, 100_000));
    const keep = process.env.BLINDWINDOW_REPORT_SCREENSHOT;
    if (keep) copyFileSync(reportPng, keep);
  }, 240_000);

  it("builds a DOM that carries the figures the pipeline stored", async () => {
    if (!executable(chromium)) throw new Error(`${MISSING} (no executable at ${chromium})`);
    const dom = await runChromium(["--dump-dom"], fabrikam.html);
    const r = fabrikam.report;
    expect(dom).toContain('<h1 data-figure="tenant-name">Fabrikam Bakeries</h1>');
    expect(dom).toContain(`<span class="value" data-figure="findings">${String(r.summary.findings)}</span>`);
    expect(dom).toContain(`<span class="value" data-figure="lost-hours">${String(r.summary.lostHours)}</span>`);
    expect(r.summary.lostHours).toBe(506);
    expect(dom).toContain("Entra's 7-day retention had already deleted 253 hours of sign-ins for this tenant when blindwindow began its review");
    expect(dom.match(/<rect class="bar"/gu)).toHaveLength(r.charts[0]?.hours.length ?? -1);
    expect(dom.match(/<rect class="bar"[^>]*data-state="lost"/gu)).toHaveLength(253);
    expect(dom).toContain(`${(r.charts[0]?.totals.signIns ?? -1).toLocaleString("en-US")} sign-ins read in 148 hours`);
  }, 120_000);

  it("turns attacker-controlled text into text, not elements", async () => {
    if (!executable(chromium)) throw new Error(`${MISSING} (no executable at ${chromium})`);
    const hourly = diurnalHourly(3, "2024-09-13T12:00:00.000Z", "2024-09-19T16:00:00.000Z", 40);
    const hostile = await buildIncidentReport(fakeDeps(hostileWorld(hourly)), HOSTILE.tenantId, REPORT_AT);
    const file = path.join(dir, "hostile.html");
    writeFileSync(file, renderReportHtml(hostile));
    const dom = await runChromium(["--dump-dom"], file);
    expect(dom).not.toMatch(/<script/iu);
    expect(dom).not.toMatch(/<img/iu);
    expect(dom).not.toMatch(/<b>Bakeries/iu);
    expect(dom).toContain("&lt;script&gt;alert(\"pwned\")&lt;/script&gt;");
    expect(dom).toContain('Entra sign-in logs incomplete "&gt;&lt;img src=x onerror=alert(1)&gt;');
    // The task title tried to close the table: the tasks table still has its one row.
    expect(dom).toMatch(/<section id="tasks">.*<tbody><tr>.*&lt;\/td&gt;&lt;\/tr&gt;&lt;\/table&gt;.*<\/tr><\/tbody><\/table><\/section>/su);
  }, 120_000);
});
