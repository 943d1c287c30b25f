import { SEVERITIES } from "./finding.js";
import { formatCount, formatDuration, huntConsoleName, lostEvidenceStatements, visibleText, type IncidentReport } from "./incidentReportModel.js";
import { LOG_SOURCE_NAMES, preservingText } from "./task.js";

/**
 * The incident report as Markdown (GitHub-flavoured: tables, fenced code), for a ticket, a wiki or a pull request.
 * Text from notices, findings and tasks is attacker-influenced: `md` escapes what Markdown or the HTML it may carry
 * would interpret (`<`, `&`, emphasis, links, pipes that would split a table cell, line breaks that would end a row),
 * and KQL goes in a fence longer than any run of backticks inside it.
 */

/** Escapes text for a Markdown paragraph or table cell: it renders as the same characters, and nothing else. */
export function md(text: string | number): string {
  return visibleText(String(text).replace(/\r\n?|\n/gu, " "))
    .replace(/&/gu, "&amp;")
    .replace(/</gu, "&lt;")
    .replace(/>/gu, "&gt;")
    .replace(/[\\`*_{}[\]()#+!|~]/gu, (c) => `\\${c}`);
}

/** Inline code for ids and paths; a value with a backtick or a pipe is escaped text instead (a code span cannot hold them safely in a table). */
function code(text: string): string {
  return /^[^`|\n\r<>&]+$/u.test(text) && visibleText(text) === text ? `\`${text}\`` : md(text);
}

/** `2024-09-02 23:00` (the report says once that times are UTC). */
function t(iso: string | null, open = "open"): string {
  if (iso === null) return open;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? md(iso) : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

function range(from: string | null, to: string | null): string {
  return from === null && to === null ? "—" : `${t(from, "—")} → ${t(to)}`;
}

function table(header: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (numeric.has(i) ? "---:" : "---"))), ...rows.map(line)].join("\n");
}

function fence(text: string, lang: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/gu)].map((m) => m[0].length));
  const marks = "`".repeat(Math.max(3, longest + 1));
  return `${marks}${lang}\n${visibleText(text)}\n${marks}`;
}

const source = (id: string): string => md((LOG_SOURCE_NAMES as Record<string, string>)[id] ?? id);

/** The report as Markdown. */
export function renderReportMarkdown(r: IncidentReport): string {
  const out: string[] = [];
  const s = r.summary;
  out.push(`# Incident report: ${md(r.tenant.name)}`, "");
  out.push(`Tenant ${code(r.tenant.tenantId)} · licence ${md(r.tenant.licence.toUpperCase())} (Entra keeps sign-in and audit logs ${String(r.tenant.retentionDays)} days) · generated ${t(r.generatedAt)} UTC. All times are UTC.`, "");

  const statements = lostEvidenceStatements(r);
  if (statements.length > 0) {
    // `>` alone between lines keeps each statement its own paragraph inside the quote.
    out.push("> **Evidence was lost for good.**", ...statements.flatMap((x) => [">", `> ${md(x)}`]), "");
  } else {
    out.push("> **No evidence lost to retention.** Every blind hour reviewed was still inside retention when its review began.", "");
  }

  const sev = [...SEVERITIES].reverse().filter((k) => s.findingsBySeverity[k] > 0).map((k) => `${String(s.findingsBySeverity[k])} ${k}`).join(", ");
  out.push("## Summary", "");
  out.push(
    table(
      ["figure", "value"],
      [
        ["blind windows", String(s.windows)],
        ["blind hours", formatCount(s.blindHours)],
        ["records read by reviews", formatCount(s.recordsRead)],
        ["hours lost to retention", formatCount(s.lostHours)],
        ["findings", `${String(s.findings)}${sev === "" ? "" : ` (${sev})`}`],
        ["tasks", s.tasks ? `${String(s.tasks.open)} open, ${String(s.tasks.acknowledged)} acknowledged, ${String(s.tasks.done)} done` : "no tasks recorded"],
      ],
      new Set([1]),
    ),
    "",
  );

  out.push("## Sign-ins per hour", "");
  if (r.charts.length === 0) out.push("No sign-in blind window for this tenant.", "");
  for (const c of r.charts) {
    out.push(
      `${formatCount(c.totals.signIns)} sign-ins read in ${formatCount(c.totals.reviewedHours)} hours from ${t(`${c.from}:00:00Z`)} to ${t(`${c.to}:00:00Z`)}; ${formatCount(c.totals.blindHours)} blind hours, ${formatCount(c.totals.lostHours)} lost to retention; peak ${formatCount(c.totals.peak)} per hour. The chart is in the HTML report; per day:`,
      "",
    );
  }
  const signInDays = r.coverageByDay.filter((d) => d.source === "entra-signin");
  if (signInDays.length > 0) {
    out.push(table(["day", "sign-ins", "hours read", "blind hours", "hours lost"], signInDays.map((d) => [d.day, formatCount(d.records), String(d.hoursRead), String(d.hoursBlind), String(d.hoursLost)]), new Set([1, 2, 3, 4])), "");
  }

  out.push("## Timeline of notices", "");
  if (r.notices.length === 0) out.push("No processed notice concerns this tenant.", "");
  for (const n of r.notices) {
    out.push(`### ${md(n.title)}`, "", `Notice ${code(n.key)} (${md(n.source)}), ${String(n.revisions.length)} revision${n.revisions.length === 1 ? "" : "s"}.`, "");
    out.push(
      table(
        ["published", "stage", "title", "window stated", "effect", "received"],
        n.revisions.map((v) => [
          t(v.publishedAt),
          `${v.stage === null ? "" : md(v.stage)}${v.synthetic ? " (test action)" : ""}`,
          md(v.title),
          v.statedWindow.start === null && v.statedWindow.end === null ? "none" : range(v.statedWindow.start, v.statedWindow.end),
          v.relevant ? md(`${v.effect}${v.sources.length > 0 ? ` of ${v.sources.join(", ")}` : ""}`) : "not about telemetry loss",
          t(v.receivedAt),
        ]),
      ),
      "",
    );
  }

  out.push("## Blind windows", "");
  out.push(
    r.windows.length === 0
      ? "No blind window is recorded for this tenant."
      : table(
          ["log source", "window", "start", "end", "hours", "effect", "status", "review deadline", "notices"],
          r.windows.map((w) => [source(w.source), code(w.windowId), t(w.start), t(w.end), formatCount(w.hours), w.effect, w.status, t(w.reviewDeadline), w.notices.map(code).join(", ")]),
          new Set([4]),
        ),
    "",
  );

  out.push("## Evidence lost to retention", "");
  out.push(
    r.evidenceLost.length === 0
      ? "None."
      : table(
          ["log source", "window", "lost from", "lost to", "hours", "retention", "recorded by the review"],
          r.evidenceLost.map((e) => [source(e.source), code(e.windowId), t(e.from), t(e.to), formatCount(e.hours), `${String(e.retentionDays)} days`, e.explanation === null ? "" : md(e.explanation)]),
          new Set([4]),
        ),
    "",
  );

  out.push("## Compensating controls and coverage", "");
  out.push(
    r.controls.length === 0
      ? "No control has been planned for this tenant."
      : table(
          ["source", "window", "control", "state", "records read", "pages", "429 waits", "run time", "reviewed", "hours read", "lost", "findings", "evidence"],
          r.controls.map((c) => [
            source(c.source),
            code(c.windowId),
            c.control,
            `${c.state}${c.preservedBy ? `: ${md(preservingText(c.preservedBy.control, c.preservedBy.reviewedTo))}` : ""}${c.error === null ? "" : `: ${md(c.error)}`}`,
            `${formatCount(c.records)}${Object.keys(c.recordsRead).length > 0 ? ` (${Object.entries(c.recordsRead).map(([k, n]) => `${md(k)} ${formatCount(n)}`).join(", ")})` : ""}`,
            formatCount(c.pages),
            formatCount(c.throttledWaits),
            formatDuration(c.durationMs),
            range(c.coverage.reviewedFrom, c.coverage.reviewedTo),
            c.hoursRead === null ? `${formatCount(c.hoursCovered)} covered` : formatCount(c.hoursRead),
            c.hoursLost > 0 ? `${range(c.coverage.lostFrom, c.coverage.lostTo)} (${formatCount(c.hoursLost)} h)` : "none",
            String(c.findings),
            c.evidence ? `${formatCount(c.evidence.records)} records, ${formatCount(c.evidence.blobs)} blobs, ${code(c.evidence.manifestPath)}` : "",
          ]),
          new Set([5, 6, 9, 11]),
        ),
    "",
  );
  const totals = r.sources.filter((x) => x.records > 0 || x.hoursRead > 0 || x.hoursLost > 0);
  if (totals.length > 0) {
    out.push("### Records read per source", "");
    out.push(
      table(
        ["log source", "records", "per stream", "blind hours", "hours read", "hours lost"],
        totals.map((x) => [source(x.source), formatCount(x.records), Object.entries(x.streams).map(([k, n]) => `${md(k)} ${formatCount(n)}`).join(", "), formatCount(x.hoursBlind), formatCount(x.hoursRead), formatCount(x.hoursLost)]),
        new Set([1, 3, 4, 5]),
      ),
      "",
    );
  }
  const other = r.coverageByDay.filter((d) => d.source !== "entra-signin");
  if (other.length > 0) {
    out.push("### Coverage per day (audits and risk detections)", "");
    out.push(table(["day", "log source", "records", "hours read", "blind hours", "hours lost"], other.map((d) => [d.day, source(d.source), formatCount(d.records), String(d.hoursRead), String(d.hoursBlind), String(d.hoursLost)]), new Set([2, 3, 4, 5])), "");
  }

  out.push(`## Findings (${String(r.findings.length)})`, "");
  if (r.findings.length === 0) out.push("The reviews found nothing to report.", "");
  else {
    out.push(
      table(
        ["severity", "rule", "subject", "first seen", "last seen", "count", "explanation", "IP addresses", "sample records", "evidence"],
        r.findings.map((f) => [
          f.severity,
          f.rule,
          `${md(f.subject.kind)}: ${f.subject.name === undefined ? md(f.subject.id) : `${md(f.subject.name)} (${md(f.subject.id)})`}`,
          t(f.firstSeen),
          t(f.lastSeen),
          formatCount(f.count),
          md(f.explanation),
          f.ipAddresses.map(code).join(", "),
          f.sampleIds.map(code).join(", "),
          f.evidenceManifest === null ? "" : code(f.evidenceManifest),
        ]),
        new Set([5]),
      ),
      "",
    );
  }

  if (r.huntQueries.length > 0) {
    out.push("## Hunt queries for sources Graph cannot replay", "");
    for (const q of r.huntQueries) {
      out.push(`### ${md(q.title)} (${md(q.product)})`, "", `${md(q.why)} — ${huntConsoleName(q.runIn) === null ? "" : `run in ${md(huntConsoleName(q.runIn) ?? "")}; `}${source(q.source)}, window ${code(q.windowId)}, query ${code(q.id)}.`, "", fence(q.kql, "kusto"), "");
    }
  }

  out.push("## Tasks", "");
  if (r.tasks === null || r.tasks.length === 0) out.push("No tasks recorded.", "");
  else {
    out.push(
      table(
        ["task", "status", "due", "acknowledged", "done", "delivered"],
        r.tasks.map((k) => [
          `${md(k.title)} (${code(k.id)})`,
          k.status,
          t(k.dueDate),
          k.acknowledgedBy === null ? "—" : `${md(k.acknowledgedBy)} ${t(k.acknowledgedAt, "")}`,
          k.doneBy === null ? "—" : `${md(k.doneBy)} ${t(k.doneAt, "")}`,
          k.deliveries.map((d) => `${md(d.channel)}: ${md(d.state)}${d.sentAt === null ? "" : ` ${t(d.sentAt)}`}`).join(", ") || "—",
        ]),
      ),
      "",
    );
  }
  out.push("---", "", `Generated by blindwindow from its ledger, controls and findings for tenant ${code(r.tenant.tenantId)}.`, "");
  return out.join("\n");
}
