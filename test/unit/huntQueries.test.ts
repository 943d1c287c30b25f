import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HUNT_PRODUCTS, huntChecklistMarkdown, huntQueries, type HuntQuery, type HuntWindow } from "../../shared/domain/huntQueries.js";
import { LOG_SOURCE_IDS, type LogSourceId } from "../../shared/domain/logSource.js";
import { CONTROLS_BY_SOURCE } from "../../shared/domain/controlPlan.js";
import { ADVANCED_HUNTING_TABLES, LOG_ANALYTICS_TABLES, TABLES_BY_CONSOLE } from "../support/huntSchemas.js";
import { analyseKql, kqlDatabase } from "../support/kusto.js";

const TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const NOW = "2024-09-20T12:00:00.000Z";
const HUNTED: LogSourceId[] = ["sentinel", "defender-cloud", "defender-xdr", "purview-audit", "azure-activity", "azure-monitor"];
const REPLAYED: LogSourceId[] = ["entra-signin", "entra-audit", "entra-risk"];

const closed = (source: LogSourceId): HuntWindow => ({ tenantId: TENANT, source, start: "2024-09-02T23:00:00.000Z", end: "2024-09-05T06:30:00.000Z" });
const open = (source: LogSourceId): HuntWindow => ({ tenantId: TENANT, source, start: "2024-09-02T23:00:00Z", end: null });

/** KQL without `//` comments (none of our queries has `//` inside a string). */
const code = (kql: string): string => kql.replace(/\/\/[^\n]*/g, "");

/** Checks brackets nest and close, and quotes pair, ignoring brackets inside string literals. */
function balanced(kql: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  let quote: string | undefined;
  for (const ch of code(kql)) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\n") return false;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) return false;
    }
  }
  return quote === undefined && stack.length === 0;
}

/** Statements of a query: `let`s each closed by `;`, then exactly one tabular expression. */
function statements(kql: string): string[] {
  return code(kql)
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

describe("hunt queries", () => {
  it("cover every source Graph cannot replay, and only those (as the control plan says)", () => {
    for (const source of LOG_SOURCE_IDS) {
      const hunted = CONTROLS_BY_SOURCE[source].includes("hunt-checklist");
      expect(HUNTED.includes(source), source).toBe(hunted);
      const queries = huntQueries(closed(source), NOW);
      if (hunted) expect(queries.length, source).toBeGreaterThanOrEqual(1);
      else expect(queries, source).toEqual([]);
    }
    for (const source of REPLAYED) expect(huntQueries(open(source), NOW)).toEqual([]);
  });

  it("have stable ids and titles", () => {
    const summary = Object.fromEntries(HUNTED.map((s) => [s, huntQueries(closed(s), NOW).map((q) => `${q.id} [${q.product}, ${q.runIn}] ${q.title}`)]));
    expect(summary).toEqual({
      sentinel: [
        "sentinel.ingestion-gaps [Microsoft Sentinel, log-analytics] Hours in which security tables ingested less than half their usual volume",
        "sentinel.ingestion-delay [Microsoft Sentinel, log-analytics] Security records that arrived late (ingestion delay per table and hour)",
        "sentinel.signins-hourly [Microsoft Sentinel, log-analytics] Sign-ins Sentinel holds for the window, per table and hour",
        "sentinel.risky-signins [Microsoft Sentinel, log-analytics] Risky sign-ins during the window",
        "sentinel.directory-changes [Microsoft Sentinel, log-analytics] Sensitive directory changes in AuditLogs during the window",
        "sentinel.alerts [Microsoft Sentinel, log-analytics] Alerts about activity in the window, including alerts raised after it",
        "sentinel.incidents [Microsoft Sentinel, log-analytics] Incidents created for, or with activity in, the window",
        "sentinel.rule-health [Microsoft Sentinel, log-analytics] Analytics rules and data connectors that failed during the window",
      ],
      "defender-cloud": [
        "defender-cloud.alerts-workspace [Microsoft Defender for Cloud, log-analytics] Defender for Cloud alerts about activity in the window (workspace copy)",
        "defender-cloud.alerts-xdr [Microsoft Defender for Cloud, advanced-hunting] Defender for Cloud alerts in Defender XDR, with their evidence",
        "defender-cloud.plan-changes [Microsoft Defender for Cloud, log-analytics] Changes to Defender for Cloud settings during the window",
      ],
      "defender-xdr": [
        "defender-xdr.silent-hours [Microsoft Defender XDR, advanced-hunting] Hours without events in identity, cloud app and alert tables",
        "defender-xdr.identity-logons [Microsoft Defender XDR, advanced-hunting] Password spray and brute force against identities during the window",
        "defender-xdr.alerts [Microsoft Defender XDR, advanced-hunting] Alerts and their evidence for the window, including alerts raised after it",
        "defender-xdr.cloud-app-admin [Microsoft Defender XDR, advanced-hunting] Administrative and mailbox-rule activity in cloud apps during the window",
      ],
      "purview-audit": [
        "purview-audit.silent-hours [Microsoft Purview, log-analytics] Hours without Microsoft 365 audit records in OfficeActivity, per workload",
        "purview-audit.mail-persistence [Microsoft Purview, log-analytics] Inbox rules, forwarding and mailbox permissions set during the window",
        "purview-audit.file-exfiltration [Microsoft Purview, log-analytics] Mass downloads and anonymous sharing in SharePoint and OneDrive during the window",
        "purview-audit.cloud-app-events [Microsoft Purview, advanced-hunting] Microsoft 365 activity Defender XDR recorded during the window, per app and hour",
      ],
      "azure-activity": [
        "azure-activity.silent-hours [Azure Monitor, log-analytics] Hours without activity-log records, per subscription",
        "azure-activity.sensitive-operations [Azure Monitor, log-analytics] Role assignments, logging changes and code execution in Azure during the window",
        "azure-activity.admin-by-caller [Azure Monitor, log-analytics] Successful administrative operations per caller during the window",
      ],
      "azure-monitor": [
        "azure-monitor.ingestion-gaps [Azure Monitor, log-analytics] Hours in which a table ingested less than half its usual volume",
        "azure-monitor.ingestion-delay [Azure Monitor, log-analytics] Records that arrived late (ingestion and agent delay per table and hour)",
        "azure-monitor.heartbeat-gaps [Azure Monitor, log-analytics] Machines whose agent sent no heartbeat for an hour or more",
        "azure-monitor.diagnostics-gaps [Azure Monitor, log-analytics] Azure resources whose diagnostic logs stopped during the window",
        "azure-monitor.workspace-health [Azure Monitor, log-analytics] Workspace warnings and errors during the window (daily cap, ingestion limits)",
      ],
    });
    const all = HUNTED.flatMap((s) => huntQueries(closed(s), NOW));
    expect(new Set(all.map((q) => q.id)).size).toBe(all.length);
    for (const q of all) {
      expect(HUNT_PRODUCTS).toContain(q.product);
      expect(q.id.startsWith(`${q.id.split(".")[0] ?? ""}.`)).toBe(true);
      expect(q.why.length).toBeGreaterThan(40);
    }
  });

  it("fill in the exact window instants", () => {
    for (const source of HUNTED) {
      for (const q of huntQueries(closed(source), NOW)) {
        expect(q.kql.startsWith("let windowStart = datetime(2024-09-02T23:00:00Z);\nlet windowEnd = datetime(2024-09-05T06:30:00Z);\n"), q.id).toBe(true);
        expect(code(q.kql)).not.toContain("now()");
        // The instants are used, not only declared.
        expect(code(q.kql).split("windowStart").length, q.id).toBeGreaterThan(2);
      }
    }
    const precise = huntQueries({ tenantId: TENANT, source: "sentinel", start: "2024-09-02T23:00:00.123+02:00", end: "2024-09-03T01:00:00.0000000Z" }, NOW);
    expect(precise[0]?.kql).toContain("let windowStart = datetime(2024-09-02T21:00:00.123Z);\nlet windowEnd = datetime(2024-09-03T01:00:00Z);");
  });

  it("let an open window reach now(), and say when the checklist was made", () => {
    for (const source of HUNTED) {
      for (const q of huntQueries(open(source), NOW)) {
        expect(q.kql.startsWith("let windowStart = datetime(2024-09-02T23:00:00Z);\nlet windowEnd = now(); // the window was still open at 2024-09-20T12:00:00Z"), q.id).toBe(true);
      }
    }
    const activity = huntQueries(open("azure-activity"), NOW)[0];
    expect(activity?.why).toContain("--start-time 2024-09-02T23:00:00Z --end-time 2024-09-20T12:00:00Z");
  });

  it("name the advanced hunting deadline (30 days after the window starts)", () => {
    const xdr = huntQueries(closed("defender-xdr"), NOW);
    expect(xdr.every((q) => q.why.includes("run this before 2024-10-02"))).toBe(true);
  });

  it("are well-formed KQL: brackets and quotes pair, every let ends with ;, one tabular expression last", () => {
    for (const window of [...HUNTED.map(closed), ...HUNTED.map(open)]) {
      for (const q of huntQueries(window, NOW)) {
        expect(balanced(q.kql), q.id).toBe(true);
        const parts = statements(q.kql);
        const last = parts.pop() ?? "";
        expect(parts.length, q.id).toBeGreaterThanOrEqual(2);
        // One let per statement: a let whose ; is missing would run into the next one.
        for (const s of parts) {
          expect(s, q.id).toMatch(/^let [A-Za-z]\w* = \S/);
          expect(s.match(/^\s*let\b/gm), q.id).toHaveLength(1);
        }
        expect(last.match(/^\s*let\b/gm), q.id).toBeNull();
        expect(last, q.id).toMatch(/^[A-Za-z_]/);
        // Every let line declares something the query uses afterwards.
        for (const s of parts) {
          const name = /^let (\w+)/.exec(s)?.[1] ?? "";
          expect(code(q.kql).split(name).length, `${q.id}: ${name}`).toBeGreaterThan(2);
        }
        // The Defender XDR schema has Timestamp, Log Analytics TimeGenerated.
        if (q.runIn === "advanced-hunting") expect(code(q.kql)).not.toContain("TimeGenerated");
        else expect(code(q.kql)).not.toMatch(/\bTimestamp\b/);
        expect(q.kql).not.toContain("```");
      }
    }
  });

  it("pass Kusto's own parser and analyser against the documented tables of the console they run in: no error, no warning", () => {
    const databases = { "log-analytics": kqlDatabase(TABLES_BY_CONSOLE["log-analytics"]), "advanced-hunting": kqlDatabase(TABLES_BY_CONSOLE["advanced-hunting"]) };
    let analysed = 0;
    for (const window of [...HUNTED.map(closed), ...HUNTED.map(open)]) {
      for (const q of huntQueries(window, NOW)) {
        expect(analyseKql(q.kql, databases[q.runIn]), `${q.id} (${window.end === null ? "open" : "closed"})`).toEqual([]);
        analysed++;
      }
    }
    expect(analysed).toBe(2 * 27);
  });

  it("the analysis catches what the console would refuse: a misspelt column, the other console's time column, a wrong type, a missing pipe", () => {
    const logs = kqlDatabase(LOG_ANALYTICS_TABLES);
    const hunting = kqlDatabase(ADVANCED_HUNTING_TABLES);
    const [first] = huntQueries(closed("sentinel"), NOW);
    const [xdr] = huntQueries(closed("defender-xdr"), NOW).filter((q) => q.runIn === "advanced-hunting");
    expect(first && xdr).toBeTruthy();
    const broken = (kql: string, from: string, to: string): string => {
      expect(kql).toContain(from);
      return kql.replace(from, to);
    };
    const messages = (kql: string, database: ReturnType<typeof kqlDatabase>) => analyseKql(kql, database).map((d) => d.message).join("\n");
    expect(messages(broken(first?.kql ?? "", "Quantity", "Quantty"), logs)).toContain("'Quantty' does not refer to any known column");
    expect(messages(xdr?.kql ?? "", logs)).toMatch(/does not refer to any known/);
    expect(messages(broken(xdr?.kql ?? "", "Timestamp", "TimeGenerated"), hunting)).toContain("'TimeGenerated'");
    expect(messages(broken(first?.kql ?? "", "sum(Quantity)", "sum(DataType)"), logs)).not.toBe("");
    expect(messages(broken(first?.kql ?? "", "| where", "where"), logs)).not.toBe("");
  });

  it("contain nothing from the tenant but the window instants, and refuse instants that are not instants", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), fc.constantFrom(...HUNTED), (tenantId, source) => {
        fc.pre(tenantId.length >= 4 && !/^[\s\w.:()-]*$/.test(tenantId));
        const queries = huntQueries({ tenantId, source, start: "2024-09-02T23:00:00Z", end: null }, NOW);
        for (const q of queries) {
          expect(q.kql).not.toContain(tenantId);
          expect(q.why).not.toContain(tenantId);
        }
        expect(huntChecklistMarkdown(queries)).not.toContain(tenantId);
      }),
    );
    const withGuid = huntQueries({ tenantId: TENANT, source: "sentinel", start: "2024-09-02T23:00:00Z", end: null }, NOW);
    expect(withGuid.some((q) => q.kql.includes(TENANT) || q.why.includes(TENANT))).toBe(false);
    const injection = '2024-09-02T23:00:00Z); SecurityEvent | take 1 //';
    expect(() => huntQueries({ tenantId: TENANT, source: "sentinel", start: injection, end: null }, NOW)).toThrow(RangeError);
    expect(() => huntQueries({ tenantId: TENANT, source: "sentinel", start: "2024-09-02T23:00:00Z", end: "later" }, NOW)).toThrow(RangeError);
    expect(() => huntQueries({ tenantId: TENANT, source: "sentinel", start: "2024-09-02T23:00:00Z", end: null }, "now")).toThrow(RangeError);
  });

  it("are the same for the same window", () => {
    for (const source of HUNTED) expect(huntQueries(closed(source), NOW)).toEqual(huntQueries(closed(source), NOW));
  });
});

describe("hunt checklist markdown", () => {
  it("makes one checkbox per query with where to run it, why, and the query in a kusto block", () => {
    const queries = huntQueries(closed("defender-cloud"), NOW);
    const md = huntChecklistMarkdown(queries);
    expect(md.match(/^- \[ \] /gm)).toHaveLength(queries.length);
    expect(md.match(/^ {2}```kusto$/gm)).toHaveLength(queries.length);
    expect(md.match(/^ {2}```$/gm)).toHaveLength(queries.length);
    expect(md).toContain("- [ ] **Defender for Cloud alerts about activity in the window (workspace copy)** (Microsoft Defender for Cloud; `defender-cloud.alerts-workspace`)\n\n  Run in: Log Analytics workspace › Logs (Microsoft Sentinel › Logs).\n\n  Alerts exported");
    expect(md).toContain("Run in: Microsoft Defender portal › Hunting › Advanced hunting.");
    expect(md).toContain("  let windowStart = datetime(2024-09-02T23:00:00Z);\n  let windowEnd = datetime(2024-09-05T06:30:00Z);\n");
    // Pasting the block back gives the query exactly.
    const first = queries[0] as HuntQuery;
    const block = /```kusto\n([\s\S]*?)\n {2}```/.exec(md)?.[1] ?? "";
    expect(block.split("\n").map((l) => l.slice(2)).join("\n")).toBe(first.kql);
  });

  it("says there is nothing to hunt for a source Graph replays", () => {
    expect(huntChecklistMarkdown(huntQueries(closed("entra-signin"), NOW))).toMatch(/^No hunt queries/);
  });
});
