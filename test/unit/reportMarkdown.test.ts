import { beforeAll, describe, expect, it } from "vitest";
import { buildIncidentReport, type IncidentReport } from "../../shared/app/incidentReport.js";
import type { ControlSummary } from "../../shared/app/reviewPorts.js";
import { renderReportHtml } from "../../shared/domain/reportHtml.js";
import { md, renderReportMarkdown } from "../../shared/domain/reportMarkdown.js";
import { diurnalHourly } from "../support/reportScenario.js";
import { fakeDeps, hostileWorld, HOSTILE } from "../support/reportFakes.js";

const REPORT_AT = "2024-10-04T09:00:00.000Z";

let report: IncidentReport;
let markdown: string;
beforeAll(async () => {
  const hourly = diurnalHourly(11, "2024-09-13T12:00:00.000Z", "2024-09-19T16:00:00.000Z", 40);
  report = await buildIncidentReport(fakeDeps(hostileWorld(hourly)), HOSTILE.tenantId, REPORT_AT);
  markdown = renderReportMarkdown(report);
});

/** GFM table row → cells: split on pipes that are not backslash-escaped (a `\` escapes the next character). */
function cells(row: string): string[] {
  const out: string[] = [];
  let cell = "";
  for (let i = 0; i < row.length; i++) {
    const c = row.charAt(i);
    if (c === "\\") {
      cell += c + row.charAt(i + 1);
      i++;
    } else if (c === "|") {
      out.push(cell.trim());
      cell = "";
    } else {
      cell += c;
    }
  }
  out.push(cell.trim());
  return out.slice(1, -1);
}

/** Tables of the document: runs of lines that start with `|`. */
function tables(text: string): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("|")) current.push(line);
    else if (current.length > 0) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The document without its fenced code blocks (what a Markdown renderer interprets). */
function outsideFences(text: string): string {
  return text.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gmu, "");
}

describe("renderReportMarkdown", () => {
  it("keeps every table row at its header's width, whatever pipes and newlines the text carries", () => {
    const all = tables(markdown);
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const table of all) {
      const width = cells(table[0] ?? "").length;
      for (const row of table) expect(cells(row)).toHaveLength(width);
    }
    const findingRow = all.flat().find((row) => row.includes("brute-force-success"));
    expect(cells(findingRow ?? "")[6]).toBe("&lt;script&gt;alert\\(\"pwned\"\\)&lt;/script&gt; \\| spray from 203.0.113.9 \\| second line \\| of the explanation");
  });

  it("lets no HTML through outside code: tags from notices, findings and tasks come out as text", () => {
    const prose = outsideFences(markdown);
    expect(prose).not.toMatch(/<[a-z/!]/iu);
    expect(prose).toContain("Entra sign-in logs incomplete \"&gt;&lt;img src=x onerror=alert\\(1\\)&gt;");
    expect(prose).toContain("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert\\(2\\)&lt;/script&gt;");
    expect(prose).toContain("# Incident report: Fabrikam &lt;b&gt;Bakeries&lt;/b&gt; &amp; Sons");
    expect(prose).not.toContain("\u202E");
  });

  it("fences KQL with more backticks than it contains, so the query cannot close its block", () => {
    expect(markdown).toContain(`\`\`\`\`kusto\n${HOSTILE.kql}\n\`\`\`\``);
  });

  it("never puts a value with a backtick or pipe in a code span", () => {
    expect(markdown).toContain("id\\|with\\`backtick\\`");
    expect(markdown).not.toContain("`id|with");
  });

  it("states the lost evidence and carries the model's figures", () => {
    expect(markdown).toContain("> Entra's 7-day retention had already deleted 253 hours of sign-ins for this tenant when blindwindow began its review");
    expect(markdown).toContain("| hours lost to retention | 253 |");
    expect(markdown).toContain(`| findings | ${String(report.summary.findings)} (2 high) |`);
    const signIns = report.charts[0]?.totals.signIns ?? -1;
    expect(markdown).toContain(`${signIns.toLocaleString("en-US")} sign-ins read in 148 hours`);
    expect(markdown).toContain("eve \\| \"admin\" &lt;eve@example.com&gt;");
  });

  it("md escapes Markdown syntax so that the text renders as itself", () => {
    expect(md("[click](javascript:alert(1)) *bold* _it_ `x` ~~s~~ #h !img")).toBe("\\[click\\]\\(javascript:alert\\(1\\)\\) \\*bold\\* \\_it\\_ \\`x\\` \\~\\~s\\~\\~ \\#h \\!img");
    expect(md("a\r\nb\nc")).toBe("a b c");
  });

  it("says a planned preserve control is being preserved by its window's running review, up to where that has read", async () => {
    const world = hostileWorld(diurnalHourly(11, "2024-09-13T12:00:00.000Z", "2024-09-19T16:00:00.000Z", 40));
    const as = (controls: ControlSummary[]) => buildIncidentReport(fakeDeps({ ...world, controls }), HOSTILE.tenantId, REPORT_AT);
    const reading = world.controls.map((c): ControlSummary => {
      if (c.control === "signin-review") return { ...c, state: "running", coverage: { ...c.coverage, reviewedTo: "2024-09-17T06:00:00.000Z" } };
      if (c.control !== "preserve") return c;
      const { evidence: _evidence, ...planned } = c;
      return { ...planned, state: "planned" };
    });
    const r = await as(reading);
    expect(r.controls.find((c) => c.control === "preserve")?.preservedBy).toEqual({ control: "signin-review", reviewedTo: "2024-09-17T06:00:00.000Z" });
    const rows = tables(renderReportMarkdown(r)).flat().map(cells);
    expect(rows.find((c) => c[2] === "preserve")?.[3]).toBe(`planned: ${md("preserved by signin-review as it reads, up to 2024-09-17 06:00 UTC")}`);
    expect(renderReportHtml(r)).toContain("planned<br><span class=\"muted\">preserved by signin-review as it reads, up to 2024-09-17 06:00 UTC</span>");
    // Only its own window's review, and only while that reads: otherwise the preserve control is just planned.
    for (const other of [
      reading.map((c): ControlSummary => (c.control === "signin-review" ? { ...c, windowId: "wsignin0000000002" } : c)),
      reading.map((c): ControlSummary => (c.control === "signin-review" ? { ...c, state: "failed", error: "Graph refused" } : c)),
    ]) {
      const report = await as(other);
      expect(report.controls.find((c) => c.control === "preserve")?.preservedBy).toBeNull();
      expect(tables(renderReportMarkdown(report)).flat().map(cells).find((c) => c[2] === "preserve")?.[3]).toBe("planned");
    }
  });
});
