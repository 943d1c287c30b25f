import { beforeAll, describe, expect, it } from "vitest";
import { buildIncidentReport, type IncidentReport } from "../../shared/app/incidentReport.js";
import { renderReportHtml, renderSignInChart, hourState } from "../../shared/domain/reportHtml.js";
import { signInCharts, type ReportChart } from "../../shared/domain/incidentReportModel.js";
import { diurnalHourly } from "../support/reportScenario.js";
import { fakeDeps, hostileWorld, HOSTILE } from "../support/reportFakes.js";

const REPORT_AT = "2024-10-04T09:00:00.000Z";
const hourly = diurnalHourly(11, "2024-09-13T12:00:00.000Z", "2024-09-19T16:00:00.000Z", 40);

let report: IncidentReport;
let html: string;
beforeAll(async () => {
  report = await buildIncidentReport(fakeDeps(hostileWorld(hourly)), HOSTILE.tenantId, REPORT_AT);
  html = renderReportHtml(report);
});

/** The `<rect class="bar" …>` elements of an SVG, with their data attributes. */
function bars(svg: string): { hour: string; state: string; blind: boolean; count: string }[] {
  return [...svg.matchAll(/<rect class="bar" data-hour="([^"]+)" data-state="([^"]+)" data-blind="([01])" data-count="([^"]*)"/gu)].map((m) => ({
    hour: m[1] ?? "",
    state: m[2] ?? "",
    blind: m[3] === "1",
    count: m[4] ?? "",
  }));
}

describe("renderReportHtml: escaping", () => {
  it("renders attacker-controlled text inert: no element, attribute or script comes from it", () => {
    expect(html).not.toMatch(/<script/iu);
    expect(html).not.toMatch(/<img/iu);
    expect(html).not.toMatch(/<[^>]*onerror=/iu);
    expect(html).not.toContain("<b>Bakeries</b>");
    expect(html).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
    expect(html).toContain("Entra sign-in logs incomplete &quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("Fabrikam &lt;b&gt;Bakeries&lt;/b&gt; &amp; Sons");
    expect(html).toContain("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(2)&lt;/script&gt;");
    expect(html).toContain("// ``` &lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;");
    expect(html).toContain("eve | &quot;admin&quot; &lt;eve@example.com&gt;");
  });

  it("shows a bidirectional override as a visible escape, not as reordered text", () => {
    expect(html).not.toContain("\u202E");
    expect(html).toContain("admin\\u202egpj.exe@fabrikam.example");
  });

  it("is self-contained: no script, stylesheet, font, image or frame is fetched, and a CSP forbids it", () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).not.toMatch(/<(link|iframe|object|embed|audio|video|source)\b/iu);
    expect(html).not.toMatch(/@import|@font-face|url\((?!#)/iu);
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/iu);
    // The only URL is the SVG namespace, which is a name, never fetched.
    expect([...html.matchAll(/https?:\/\/[^\s"'<)]+/gu)].map((m) => m[0])).toEqual(["http://www.w3.org/2000/svg"]);
  });

  it("puts the KQL of the hunt queries in a <pre>", () => {
    expect(html).toMatch(/<pre><code>SigninLogs\n\| where TimeGenerated between/u);
  });

  it("says plainly at the top that evidence was lost, with the hours", () => {
    const statement = "Entra&apos;s 7-day retention had already deleted 253 hours of sign-ins for this tenant when blindwindow began its review";
    expect(html).toContain(statement);
    expect(html.indexOf(statement)).toBeLessThan(html.indexOf('id="chart"'));
    expect(html).toContain('<span class="value" data-figure="lost-hours">253</span>');
    expect(html).toContain('<span class="value" data-figure="findings">2</span>');
  });

  it("says when nothing was lost, and when no tasks are recorded", async () => {
    const world = hostileWorld(hourly, { tasks: false });
    world.controls = world.controls.map((c) => ({ ...c, coverage: { ...c.coverage, reviewedFrom: c.windowStart, lostFrom: null, lostTo: null } }));
    world.findings = world.findings.filter((f) => f.rule !== "evidence-lost");
    const clean = renderReportHtml(await buildIncidentReport(fakeDeps(world), HOSTILE.tenantId, REPORT_AT));
    expect(clean).toContain("No evidence lost to retention");
    expect(clean).not.toContain("Evidence was lost for good");
    expect(clean).toContain("No tasks recorded.");
  });
});

describe("the sign-in chart", () => {
  it("has one bar per hour of the window ±1 day, marked as the model marks it", () => {
    const chart = report.charts[0] as ReportChart;
    expect(chart.hours).toHaveLength(401 + 48);
    const svg = renderSignInChart(chart, 0);
    const drawn = bars(svg);
    expect(drawn).toHaveLength(chart.hours.length);
    expect(drawn.map((b) => b.hour)).toEqual(chart.hours.map((x) => x.hour));
    expect(drawn.map((b) => b.state)).toEqual(chart.hours.map(hourState));
    expect(drawn.map((b) => b.blind)).toEqual(chart.hours.map((x) => x.blind));
    expect(drawn.map((b) => b.count)).toEqual(chart.hours.map((x) => (x.signIns === null ? "" : String(x.signIns))));
    expect(drawn.filter((b) => b.state === "lost")).toHaveLength(253);
    expect(drawn.filter((b) => b.state === "reviewed")).toHaveLength(148);
    expect(drawn.filter((b) => b.blind)).toHaveLength(401);
    expect(drawn.filter((b) => b.state === "outside")).toHaveLength(48);
    // Hatched band over the lost hours, shaded band over the blind ones, a legend naming all three.
    expect(svg).toMatch(/<rect class="band-lost" [^>]*fill="url\(#chart-0-hatch\)"/u);
    expect(svg).toContain('class="band-blind"');
    for (const label of ["blind window", "sign-ins read by blindwindow", "lost: deleted by retention"]) expect(svg).toContain(label);
    // Date labels: the days and the month.
    expect(svg).toContain(">Sep 2024</text>");
    expect(svg).toContain("window start 2024-09-02 23:00");
    expect(svg).toContain("window end 2024-09-19 16:00");
  });

  it("marks hours not reached yet by a running review apart from lost ones", () => {
    const running = { "2024-09-13T12": 5, "2024-09-13T13": 0 };
    const [chart] = signInCharts([{ windowId: "w", start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z" }], [{ hourly: running, lostFrom: "2024-09-02T23:00:00.000Z", lostTo: "2024-09-13T12:00:00.000Z" }], Date.parse(REPORT_AT));
    const states = bars(renderSignInChart(chart as ReportChart, 1)).map((b) => b.state);
    expect(states.filter((s) => s === "lost")).toHaveLength(253);
    expect(states.filter((s) => s === "reviewed")).toHaveLength(2);
    expect(states.filter((s) => s === "pending")).toHaveLength(401 - 253 - 2);
  });

  it("draws an open window up to the report's time, and separate incidents as separate charts", () => {
    const now = Date.parse("2024-09-10T12:30:00.000Z");
    const charts = signInCharts(
      [
        { windowId: "a", start: "2024-06-01T02:00:00.000Z", end: "2024-06-02T09:30:00.000Z" },
        { windowId: "b", start: "2024-09-02T23:00:00.000Z", end: null },
      ],
      [],
      now,
    );
    expect(charts.map((c) => [c.from, c.to, c.totals.blindHours])).toEqual([
      ["2024-05-31T02", "2024-06-03T09", 32],
      ["2024-09-01T23", "2024-09-10T12", 182],
    ]);
  });
});
