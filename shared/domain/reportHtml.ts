import { encode } from "html-entities";
import { SEVERITIES } from "./finding.js";
import {
  HOUR_MS,
  formatCount,
  formatDuration,
  hourStart,
  huntConsoleName,
  lostEvidenceStatements,
  visibleText,
  type ChartHour,
  type IncidentReport,
  type ReportChart,
  type ReportControl,
  type ReportFinding,
} from "./incidentReportModel.js";
import { LOG_SOURCE_NAMES, preservingText } from "./task.js";

/**
 * The incident report as one self-contained HTML page: inline CSS, inline SVG, no script, font, image or link that
 * would fetch anything (a Content-Security-Policy of `default-src 'none'` says so to the browser too), readable on
 * screen and printed on A4. Every value from the model goes through `h`: notice titles, finding explanations, subject
 * names and task titles are attacker-influenced text.
 */

const h = (text: string | number): string => encode(visibleText(String(text)), { mode: "specialChars", level: "html5" });

/** `2024-09-02 23:00` as text (the page says once that every time is UTC); pass through `h` where it goes into markup. */
function t(iso: string | null, open = "open"): string {
  if (iso === null) return open;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** A time as markup: a `<time>` that does not wrap inside a table cell. */
function tm(iso: string | null, open = "open"): string {
  if (iso === null) return h(open);
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? h(iso) : `<time datetime="${new Date(ms).toISOString()}">${t(iso)}</time>`;
}

function range(from: string | null, to: string | null): string {
  if (from === null && to === null) return "—";
  return `${tm(from, "—")} → ${tm(to)}`;
}

const LICENCE_NAMES = { free: "Microsoft Entra ID Free", p1: "Microsoft Entra ID P1", p2: "Microsoft Entra ID P2" } as const;

const CONTROL_NAMES: Readonly<Record<ReportControl["control"], string>> = {
  "signin-review": "Sign-in review",
  "audit-review": "Directory-audit review",
  "risk-review": "Risk-detection review",
  preserve: "Evidence preservation",
  "hunt-checklist": "Hunt checklist",
};

const COLOURS = {
  ink: "#1e293b",
  muted: "#64748b",
  grid: "#e2e8f0",
  blind: "#fde9c4",
  blindEdge: "#d97706",
  reviewed: "#1d4ed8",
  outside: "#94a3b8",
  lost: "#b91c1c",
  lostFill: "#fde2e2",
  pending: "#e2e8f0",
} as const;

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #f1f5f9; color: ${COLOURS.ink}; font: 14px/1.45 "Segoe UI", "Helvetica Neue", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 40px; background: #fff; }
h1 { font-size: 26px; margin: 2px 0 10px; }
h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid ${COLOURS.grid}; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p { margin: 6px 0; }
.nowrap { white-space: nowrap; }
time { white-space: nowrap; font-variant-numeric: tabular-nums; }
code, pre { font-family: "Cascadia Mono", Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
code { background: #f1f5f9; padding: 0 3px; border-radius: 3px; overflow-wrap: break-word; }
td.evidence code, .finding code, pre { overflow-wrap: anywhere; }
pre { background: #f8fafc; color: ${COLOURS.ink}; border: 1px solid ${COLOURS.grid}; border-left: 4px solid ${COLOURS.reviewed}; padding: 10px 12px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: ${COLOURS.muted}; margin: 0; }
.meta { display: grid; grid-template-columns: repeat(4, auto); gap: 2px 24px; justify-content: start; margin: 0; }
.meta dt { color: ${COLOURS.muted}; font-size: 12px; }
.meta dd { margin: 0 0 6px; font-weight: 600; }
.alert { border-left: 6px solid ${COLOURS.lost}; background: #fef2f2; padding: 12px 16px; margin: 18px 0; border-radius: 4px; }
.alert h2 { border: 0; margin: 0 0 4px; padding: 0; color: ${COLOURS.lost}; font-size: 17px; }
.alert p { font-size: 15px; }
.ok { border-left-color: #15803d; background: #f0fdf4; }
.ok h2 { color: #15803d; }
.figures { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin: 14px 0; }
.figure { border: 1px solid ${COLOURS.grid}; border-radius: 6px; padding: 10px 12px; }
.figure .value { font-size: 24px; font-weight: 700; display: block; }
.figure .label { font-size: 12px; color: ${COLOURS.muted}; }
.figure.bad .value { color: ${COLOURS.lost}; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 12.5px; }
th, td { text-align: left; vertical-align: top; padding: 5px 7px; border-bottom: 1px solid ${COLOURS.grid}; }
th { background: #f8fafc; font-weight: 600; color: #334155; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.controls { table-layout: fixed; }
table.controls col.c-control { width: 12%; } table.controls col.c-state { width: 7%; } table.controls col.c-records { width: 12%; }
table.controls col.c-small { width: 6%; } table.controls col.c-time { width: 8%; } table.controls col.c-range { width: 15%; }
table.controls col.c-evidence { width: 22%; }
td.lost { color: ${COLOURS.lost}; font-weight: 600; }
thead { display: table-header-group; }
tr, .finding, figure, .hunt { break-inside: avoid; }
figure { margin: 6px 0 12px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12.5px; color: #334155; margin-top: 4px; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 18px; border-left: 2px solid ${COLOURS.grid}; }
.timeline li { position: relative; margin: 0 0 10px; }
.timeline li::before { content: ""; position: absolute; left: -25px; top: 5px; width: 10px; height: 10px; border-radius: 50%; background: ${COLOURS.blindEdge}; }
.timeline li.synthetic::before { background: ${COLOURS.outside}; }
.when { font-weight: 600; font-variant-numeric: tabular-nums; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px; background: #e2e8f0; color: #334155; margin-left: 4px; vertical-align: 1px; }
.sev { display: inline-block; min-width: 84px; text-align: center; font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; padding: 1px 6px; border-radius: 4px; color: #fff; }
.sev-high { background: #b91c1c; } .sev-medium { background: #c2410c; } .sev-low { background: #a16207; } .sev-informational { background: #475569; }
.finding { border: 1px solid ${COLOURS.grid}; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.finding header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.finding dl { display: grid; grid-template-columns: 130px 1fr; gap: 2px 10px; margin: 6px 0 0; font-size: 12.5px; }
.finding dt { color: ${COLOURS.muted}; }
.finding dd { margin: 0; }
.muted { color: ${COLOURS.muted}; }
footer { margin-top: 32px; font-size: 12px; color: ${COLOURS.muted}; border-top: 1px solid ${COLOURS.grid}; padding-top: 8px; }
@media (max-width: 760px) { main { padding: 16px; } .figures { grid-template-columns: repeat(2, 1fr); } .meta { grid-template-columns: repeat(2, auto); } }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  .figures { grid-template-columns: repeat(5, 1fr); }
  h2 { break-after: avoid; }
  code { overflow-wrap: anywhere; }
  table { font-size: 10px; }
  th, td { padding: 3px 4px; }
}
`;

// ---- chart ----

function niceStep(max: number, ticks = 4): number {
  if (max <= 0) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return Math.max(1, nice * power);
}

/** Runs of consecutive hours that satisfy `test`, as [first index, index after the last]. */
function runs(hours: readonly ChartHour[], test: (x: ChartHour) => boolean): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  hours.forEach((x, i) => {
    if (test(x) && start < 0) start = i;
    if (!test(x) && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  });
  if (start >= 0) out.push([start, hours.length]);
  return out;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const f2 = (n: number): string => String(Math.round(n * 100) / 100);

/** What an hour was, for its bar: lost, reviewed, pending (blind, not read yet), outside (not blind, not read). */
export function hourState(x: ChartHour): "lost" | "reviewed" | "pending" | "outside" {
  if (x.lost) return "lost";
  if (x.reviewed) return "reviewed";
  return x.blind ? "pending" : "outside";
}

/**
 * Sign-ins per hour as an SVG bar chart: one `rect.bar` per hour (height by count; 0 when not read), blind hours
 * shaded, hours lost to retention hatched red, window bounds marked, dates on the axis, a legend. A viewBox scales it
 * to the page (A4 portrait fits 1000 units across at ~0.18 mm each).
 */
export function renderSignInChart(chart: ReportChart, index: number): string {
  const W = 1000;
  const H = 340;
  const L = 58;
  const R = 14;
  const T = 38;
  const B = 96;
  const plotW = W - L - R;
  const plotH = H - T - B;
  const n = Math.max(1, chart.hours.length);
  const bw = plotW / n;
  const step = niceStep(chart.totals.peak);
  const yMax = Math.max(step, Math.ceil(chart.totals.peak / step) * step);
  const x = (i: number): number => L + i * bw;
  const y = (v: number): number => T + plotH - (v / yMax) * plotH;
  const id = `chart-${String(index)}`;
  const first = hourStart(chart.hours[0]?.hour ?? chart.from);
  const xAt = (ms: number): number => L + ((ms - first) / HOUR_MS) * bw;
  const parts: string[] = [];

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${String(W)} ${String(H)}" role="img" aria-labelledby="${id}-title ${id}-desc" data-hours="${String(chart.hours.length)}" font-family="Segoe UI, Helvetica, Arial, sans-serif">`,
    `<title id="${id}-title">Sign-ins per hour (UTC), ${h(t(`${chart.from}:00:00Z`))} to ${h(t(`${chart.to}:00:00Z`))}</title>`,
    `<desc id="${id}-desc">${h(`${String(chart.totals.blindHours)} blind hours, ${String(chart.totals.reviewedHours)} hours read by the review (${formatCount(chart.totals.signIns)} sign-ins), ${String(chart.totals.lostHours)} hours lost to retention.`)}</desc>`,
    `<defs><pattern id="${id}-hatch" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)"><rect width="7" height="7" fill="${COLOURS.lostFill}"/><line x1="0" y1="0" x2="0" y2="7" stroke="${COLOURS.lost}" stroke-width="2.4"/></pattern></defs>`,
  );

  // Bands: blind hours, then lost and pending hours over them.
  for (const [a, b] of runs(chart.hours, (z) => z.blind)) {
    parts.push(`<rect class="band-blind" x="${f2(x(a))}" y="${String(T)}" width="${f2((b - a) * bw)}" height="${String(plotH)}" fill="${COLOURS.blind}"/>`);
  }
  for (const [a, b] of runs(chart.hours, (z) => z.lost)) {
    parts.push(`<rect class="band-lost" x="${f2(x(a))}" y="${String(T)}" width="${f2((b - a) * bw)}" height="${String(plotH)}" fill="url(#${id}-hatch)" opacity="0.9"/>`);
  }
  for (const [a, b] of runs(chart.hours, (z) => hourState(z) === "pending")) {
    parts.push(`<rect class="band-pending" x="${f2(x(a))}" y="${String(T)}" width="${f2((b - a) * bw)}" height="${String(plotH)}" fill="${COLOURS.pending}"/>`);
  }

  // Grid and y axis.
  for (let v = 0; v <= yMax; v += step) {
    parts.push(
      `<line x1="${String(L)}" x2="${String(W - R)}" y1="${f2(y(v))}" y2="${f2(y(v))}" stroke="${v === 0 ? COLOURS.ink : COLOURS.grid}" stroke-width="${v === 0 ? "1" : "0.8"}"/>`,
      `<text x="${String(L - 6)}" y="${f2(y(v) + 4)}" text-anchor="end" font-size="11" fill="${COLOURS.muted}">${h(formatCount(v))}</text>`,
    );
  }
  parts.push(`<text x="14" y="${f2(T + plotH / 2)}" transform="rotate(-90 14 ${f2(T + plotH / 2)})" text-anchor="middle" font-size="11" fill="${COLOURS.muted}">sign-ins per hour</text>`);

  // Bars: one per hour, every hour.
  const gap = bw > 3 ? 0.6 : 0;
  chart.hours.forEach((z, i) => {
    const state = hourState(z);
    const v = z.signIns ?? 0;
    const top = y(v);
    const fill = state === "reviewed" && z.blind ? COLOURS.reviewed : COLOURS.outside;
    const label = `${t(`${z.hour}:00:00Z`)} UTC: ${z.signIns === null ? (state === "lost" ? "lost to retention" : "not read") : `${formatCount(v)} sign-ins`}`;
    parts.push(
      `<rect class="bar" data-hour="${h(z.hour)}" data-state="${state}" data-blind="${z.blind ? "1" : "0"}" data-count="${z.signIns === null ? "" : String(v)}" x="${f2(x(i) + gap / 2)}" y="${f2(top)}" width="${f2(Math.max(0.3, bw - gap))}" height="${f2(T + plotH - top)}" fill="${fill}"><title>${h(label)}</title></rect>`,
    );
  });

  // X axis: a tick at every midnight, a label every few days, the month and year where they change.
  const days = chart.hours.map((z, i) => ({ z, i })).filter(({ z }) => z.hour.endsWith("T00"));
  const every = Math.max(1, Math.ceil(days.length / 16));
  let lastMonth = "";
  days.forEach(({ z, i }, k) => {
    parts.push(`<line x1="${f2(x(i))}" x2="${f2(x(i))}" y1="${String(T + plotH)}" y2="${String(T + plotH + 5)}" stroke="${COLOURS.ink}"/>`);
    if (k % every !== 0) return;
    const date = new Date(hourStart(z.hour));
    const month = `${MONTHS[date.getUTCMonth()] ?? ""} ${String(date.getUTCFullYear())}`;
    parts.push(`<text x="${f2(x(i))}" y="${String(T + plotH + 18)}" text-anchor="middle" font-size="11" fill="${COLOURS.ink}">${String(date.getUTCDate())}</text>`);
    if (month !== lastMonth) {
      parts.push(`<text x="${f2(x(i))}" y="${String(T + plotH + 32)}" text-anchor="middle" font-size="11" font-weight="600" fill="${COLOURS.ink}">${h(month)}</text>`);
      lastMonth = month;
    }
  });
  parts.push(`<text x="${String(W - R)}" y="${String(T + plotH + 32)}" text-anchor="end" font-size="11" fill="${COLOURS.muted}">day (UTC)</text>`);

  // Window bounds and where retention cut off the review.
  const marker = (ms: number, text: string, anchor: "start" | "end", row: number): void => {
    const mx = xAt(ms);
    if (mx < L - 0.5 || mx > W - R + 0.5) return;
    parts.push(
      `<line x1="${f2(mx)}" x2="${f2(mx)}" y1="${String(T - 4 - row * 13)}" y2="${String(T + plotH)}" stroke="${COLOURS.blindEdge}" stroke-width="1.2" stroke-dasharray="4 3"/>`,
      `<text x="${f2(anchor === "start" ? mx + 4 : mx - 4)}" y="${String(T - 7 - row * 13)}" text-anchor="${anchor}" font-size="11" fill="${COLOURS.ink}">${h(text)}</text>`,
    );
  };
  for (const w of chart.windows) {
    marker(Date.parse(w.start), `window start ${t(w.start)}`, "start", 1);
    if (w.end !== null) marker(Date.parse(w.end), `window end ${t(w.end)}`, "end", 1);
  }
  for (const [, b] of runs(chart.hours, (z) => z.lost)) {
    const at = hourStart(chart.hours[b - 1]?.hour ?? chart.from) + HOUR_MS;
    const mx = xAt(at);
    parts.push(`<text x="${f2(mx + 4)}" y="${String(T + 14)}" font-size="11" font-weight="600" fill="${COLOURS.lost}">◀ lost to retention · reviewed ▶</text>`);
    parts.push(`<line x1="${f2(mx)}" x2="${f2(mx)}" y1="${String(T)}" y2="${String(T + plotH)}" stroke="${COLOURS.lost}" stroke-width="1.5"/>`);
  }

  // Legend.
  const legendY = H - 26;
  const items: [string, string][] = [
    [`<rect width="14" height="14" fill="${COLOURS.blind}" stroke="${COLOURS.blindEdge}" stroke-width="0.8"/>`, "blind window (logs missing from the vendor's pipeline)"],
    [`<rect width="14" height="14" fill="${COLOURS.reviewed}"/>`, "sign-ins read by blindwindow's review"],
  ];
  if (chart.totals.lostHours > 0) items.push([`<rect width="14" height="14" fill="url(#${id}-hatch)" stroke="${COLOURS.lost}" stroke-width="0.8"/>`, "lost: deleted by retention before the review"]);
  if (chart.hours.some((z) => hourState(z) === "pending")) items.push([`<rect width="14" height="14" fill="${COLOURS.pending}"/>`, "not reviewed yet"]);
  if (chart.hours.some((z) => z.reviewed && !z.blind)) items.push([`<rect width="14" height="14" fill="${COLOURS.outside}"/>`, "read, outside the window"]);
  let lx = L;
  for (const [swatch, text] of items) {
    parts.push(`<g transform="translate(${f2(lx)} ${String(legendY - 11)})">${swatch}</g><text x="${f2(lx + 20)}" y="${String(legendY)}" font-size="12" fill="${COLOURS.ink}">${h(text)}</text>`);
    lx += 28 + text.length * 6.1;
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}

// ---- sections ----

function figure(value: string, label: string, name: string, bad = false): string {
  return `<div class="figure${bad ? " bad" : ""}"><span class="value" data-figure="${name}">${value}</span><span class="label">${h(label)}</span></div>`;
}

function sourceName(source: string): string {
  return h((LOG_SOURCE_NAMES as Record<string, string>)[source] ?? source);
}

function headerSection(r: IncidentReport): string {
  return `<header>
<p class="eyebrow">blindwindow · incident report · blind windows in security logs</p>
<h1 data-figure="tenant-name">${h(r.tenant.name)}</h1>
<dl class="meta">
<dt>Tenant id</dt><dt>Licence</dt><dt>Entra log retention</dt><dt>Report generated</dt>
<dd><code>${h(r.tenant.tenantId)}</code></dd><dd>${h(LICENCE_NAMES[r.tenant.licence])}</dd><dd>${String(r.tenant.retentionDays)} days</dd><dd>${tm(r.generatedAt)} UTC</dd>
</dl>
<p class="muted">All times are UTC. Every figure below is read from blindwindow's ledger, controls and findings for this tenant only.</p>
</header>`;
}

function lostSection(r: IncidentReport): string {
  const statements = lostEvidenceStatements(r);
  if (statements.length === 0) {
    return `<section class="alert ok" id="evidence-status"><h2>No evidence lost to retention</h2><p>Every blind hour that blindwindow reviewed was still inside retention when the review began.</p></section>`;
  }
  // Times keep to one line ("2024-09-13 12:00 UTC"): the pattern matches digits only, so the escaped text stays text.
  const keepTimes = (escaped: string): string => escaped.replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/gu, (m) => `<span class="nowrap">${m}</span>`);
  return `<section class="alert" id="evidence-status" data-figure="evidence-lost"><h2>Evidence was lost for good</h2>${statements.map((s) => `<p>${keepTimes(h(s))}</p>`).join("")}<p class="muted">No review or export can recover these hours: they are reported here so that the gap is on record.</p></section>`;
}

function figuresSection(r: IncidentReport): string {
  const s = r.summary;
  const sev = SEVERITIES.filter((k) => s.findingsBySeverity[k] > 0)
    .reverse()
    .map((k) => `${String(s.findingsBySeverity[k])} ${k}`)
    .join(", ");
  const tasks = s.tasks ? `${String(s.tasks.open)} open · ${String(s.tasks.acknowledged)} ack · ${String(s.tasks.done)} done` : "not recorded";
  return `<section class="figures" aria-label="Key figures">
${figure(String(s.windows), `blind windows, ${formatCount(s.blindHours)} blind hours`, "windows")}
${figure(formatCount(s.recordsRead), "records read by reviews", "records-read")}
${figure(formatCount(s.lostHours), "hours lost to retention", "lost-hours", s.lostHours > 0)}
${figure(String(s.findings), sev === "" ? "findings" : `findings (${sev})`, "findings", s.findingsBySeverity.high > 0)}
<div class="figure"><span class="value" data-figure="tasks" style="font-size:15px">${h(tasks)}</span><span class="label">tasks</span></div>
</section>`;
}

function chartSection(r: IncidentReport): string {
  if (r.charts.length === 0) {
    return `<section id="chart"><h2>Sign-ins per hour</h2><p class="muted">No sign-in blind window for this tenant: no sign-in chart.</p></section>`;
  }
  const charts = r.charts.map((c, i) => {
    const caption = `Sign-ins per hour from ${t(`${c.from}:00:00Z`)} to ${t(`${c.to}:00:00Z`)} UTC (the window${c.windows.length > 1 ? "s" : ""} and a day either side): ${formatCount(c.totals.signIns)} sign-ins read in ${formatCount(c.totals.reviewedHours)} hours; ${formatCount(c.totals.blindHours)} blind hours, ${formatCount(c.totals.lostHours)} of them lost to retention (hatched); peak ${formatCount(c.totals.peak)} per hour.${c.clipped ? " The range is longer than the chart shows: only its last 92 days are drawn." : ""}`;
    return `<figure>${renderSignInChart(c, i)}<figcaption>${h(caption)}</figcaption></figure>`;
  });
  return `<section id="chart"><h2>Sign-ins per hour across the blind window</h2>${charts.join("\n")}</section>`;
}

function timelineSection(r: IncidentReport): string {
  if (r.notices.length === 0) return `<section id="timeline"><h2>Timeline of notices</h2><p class="muted">No processed notice concerns this tenant.</p></section>`;
  const notices = r.notices.map((n) => {
    const items = n.revisions.map((v) => {
      const stated = v.statedWindow.start === null && v.statedWindow.end === null ? "no window stated" : `window stated: ${range(v.statedWindow.start, v.statedWindow.end)}`;
      // `stated` is markup (times); everything else in the line is text.
      const effect = v.relevant ? `${v.effect}${v.sources.length > 0 ? ` of ${v.sources.join(", ")}` : ""}` : "not about telemetry loss";
      return `<li${v.synthetic ? ' class="synthetic"' : ""}><span class="when">${tm(v.publishedAt)}</span>${v.stage === null ? "" : `<span class="tag">${h(v.stage)}</span>`}${v.synthetic ? '<span class="tag">test action</span>' : ""} ${h(v.title)}<br><span class="muted">${stated} · ${h(effect)} · received ${tm(v.receivedAt)}</span></li>`;
    });
    return `<h3>${h(n.title)} <span class="tag">${h(n.source)}</span></h3><p class="muted">notice <code>${h(n.key)}</code>, ${String(n.revisions.length)} revision${n.revisions.length === 1 ? "" : "s"}</p><ol class="timeline">${items.join("")}</ol>`;
  });
  return `<section id="timeline"><h2>Timeline of notices</h2>${notices.join("\n")}</section>`;
}

function windowsSection(r: IncidentReport): string {
  if (r.windows.length === 0) return `<section id="windows"><h2>Blind windows</h2><p class="muted">No blind window is recorded for this tenant.</p></section>`;
  const rows = r.windows.map(
    (w) =>
      `<tr><td>${sourceName(w.source)}</td><td><code>${h(w.windowId)}</code></td><td>${tm(w.start)}</td><td>${tm(w.end)}</td><td class="num">${formatCount(w.hours)}</td><td>${h(w.effect)}</td><td>${h(w.status)}</td><td>${tm(w.reviewDeadline)}</td><td>${w.notices.map((k) => `<code>${h(k)}</code>`).join(" ")}</td></tr>`,
  );
  return `<section id="windows"><h2>Blind windows</h2><table><thead><tr><th>Log source</th><th>Window</th><th>Start</th><th>End</th><th class="num">Hours</th><th>Effect</th><th>Status</th><th>Review deadline</th><th>Notices</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`;
}

function lostTableSection(r: IncidentReport): string {
  if (r.evidenceLost.length === 0) return `<section id="evidence-lost"><h2>Evidence lost to retention</h2><p class="muted">None: no reviewed hour had left retention when its review began.</p></section>`;
  const rows = r.evidenceLost.map(
    (e) =>
      `<tr><td>${sourceName(e.source)}</td><td><code>${h(e.windowId)}</code></td><td>${tm(e.from)}</td><td>${tm(e.to)}</td><td class="num lost">${formatCount(e.hours)}</td><td class="num">${String(e.retentionDays)} days</td><td>${e.explanation === null ? "" : h(e.explanation)}</td></tr>`,
  );
  return `<section id="evidence-lost"><h2>Evidence lost to retention</h2><table><thead><tr><th>Log source</th><th>Window</th><th>Lost from</th><th>Lost to</th><th class="num">Hours</th><th class="num">Retention</th><th>Recorded by the review</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`;
}

function controlsSection(r: IncidentReport): string {
  if (r.controls.length === 0) return `<section id="controls"><h2>Compensating controls and coverage</h2><p class="muted">No control has been planned for this tenant.</p></section>`;
  const row = (c: ReportControl): string => {
    const streams = Object.entries(c.recordsRead)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([s, n]) => `${h(s)}: ${formatCount(n)}`)
      .join("<br>");
    const evidence = c.evidence ? `${formatCount(c.evidence.records)} records in ${formatCount(c.evidence.blobs)} blobs<br><code>${h(c.evidence.manifestPath)}</code>` : "—";
    const hours = c.hoursRead === null ? `${formatCount(c.hoursCovered)} hours covered` : `${formatCount(c.hoursRead)} hours read`;
    const reads = c.control !== "hunt-checklist";
    const records = reads ? `${formatCount(c.records)}${streams === "" ? "" : `<br><span class="muted">${streams}</span>`}` : `<span class="muted">KQL, see hunt queries</span>`;
    return `<tr><td>${h(CONTROL_NAMES[c.control])}</td><td>${h(c.state)}${c.preservedBy ? `<br><span class="muted">${h(preservingText(c.preservedBy.control, c.preservedBy.reviewedTo))}</span>` : ""}${c.error === null ? "" : `<br><span class="muted">${h(c.error)}</span>`}</td><td class="num">${records}</td><td class="num">${reads ? formatCount(c.pages) : "—"}</td><td class="num">${reads ? formatCount(c.throttledWaits) : "—"}</td><td class="num">${reads ? h(formatDuration(c.durationMs)) : "—"}</td><td>${range(c.coverage.reviewedFrom, c.coverage.reviewedTo)}<br><span class="muted">${hours}</span></td><td${c.hoursLost > 0 ? ' class="lost"' : ""}>${c.hoursLost > 0 ? `${range(c.coverage.lostFrom, c.coverage.lostTo)}<br>${formatCount(c.hoursLost)} hours` : "none"}</td><td class="num">${String(c.findings)}</td><td class="evidence">${evidence}</td></tr>`;
  };
  const cols = `<colgroup><col class="c-control"><col class="c-state"><col class="c-records"><col class="c-small"><col class="c-small"><col class="c-time"><col class="c-range"><col class="c-range"><col class="c-small"><col class="c-evidence"></colgroup>`;
  const head = `${cols}<thead><tr><th>Control</th><th>State</th><th class="num">Records read</th><th class="num">Pages</th><th class="num">429 waits</th><th class="num">Run time</th><th>Reviewed</th><th>Lost to retention</th><th class="num">Findings</th><th>Evidence preserved</th></tr></thead>`;
  const windowIds = [...new Set([...r.windows.map((w) => w.windowId), ...r.controls.map((c) => c.windowId)])];
  const groups = windowIds.flatMap((windowId) => {
    const controls = r.controls.filter((c) => c.windowId === windowId);
    const first = controls[0];
    if (!first) return [];
    const w = r.windows.find((x) => x.windowId === windowId);
    const bounds = w ? range(w.start, w.end) : `${range(first.coverage.reviewedFrom, first.coverage.reviewedTo)} <span class="tag">window no longer in the ledger</span>`;
    return [`<h3>${sourceName(first.source)} <span class="muted">· window <code>${h(windowId)}</code> · ${bounds}</span></h3><table class="controls">${head}<tbody>${controls.map(row).join("")}</tbody></table>`];
  });
  const totals = r.sources
    .filter((s) => s.records > 0 || s.hoursRead > 0 || s.hoursLost > 0)
    .map((s) => `<tr><td>${sourceName(s.source)}</td><td class="num">${formatCount(s.records)}</td><td>${Object.entries(s.streams).map(([k, n]) => `${h(k)}: ${formatCount(n)}`).join("<br>")}</td><td class="num">${formatCount(s.hoursBlind)}</td><td class="num">${formatCount(s.hoursRead)}</td><td class="num${s.hoursLost > 0 ? " lost" : ""}">${formatCount(s.hoursLost)}</td></tr>`);
  const daySources = [...new Set(r.coverageByDay.map((d) => d.source))];
  const days = [...new Set(r.coverageByDay.map((d) => d.day))];
  const cell = (day: string, source: string): string => {
    const d = r.coverageByDay.find((x) => x.day === day && x.source === source);
    if (!d) return `<td class="num muted">—</td><td class="num muted">—</td>`;
    const hours = `${String(d.hoursRead)}/${String(d.hoursBlind)} h${d.hoursLost > 0 ? ` <span class="lost">(${String(d.hoursLost)} lost)</span>` : ""}`;
    return `<td class="num">${formatCount(d.records)}</td><td class="num">${hours}</td>`;
  };
  const coverage =
    days.length === 0
      ? ""
      : `<h3>Coverage per day</h3><p class="muted">Records read per UTC day, and hours read out of the day's blind hours (risk detections are read two days past a window's end, as Identity Protection reports them late).</p><table><thead><tr><th rowspan="2">Day</th>${daySources.map((s) => `<th colspan="2">${sourceName(s)}</th>`).join("")}</tr><tr>${daySources.map(() => `<th class="num">records</th><th class="num">hours read</th>`).join("")}</tr></thead><tbody>${days.map((d) => `<tr><td>${h(d)}</td>${daySources.map((s) => cell(d, s)).join("")}</tr>`).join("")}</tbody></table>`;
  return `<section id="controls"><h2>Compensating controls and coverage</h2>
${groups.join("\n")}
${totals.length === 0 ? "" : `<h3>Records read per source</h3><table><thead><tr><th>Log source</th><th class="num">Records</th><th>Per Graph stream</th><th class="num">Blind hours</th><th class="num">Hours read</th><th class="num">Hours lost</th></tr></thead><tbody>${totals.join("")}</tbody></table>`}
${coverage}
</section>`;
}

function findingArticle(f: ReportFinding): string {
  const subject = f.subject.name === undefined ? f.subject.id : `${f.subject.name} (${f.subject.id})`;
  return `<article class="finding" data-finding="${h(f.id)}"><header><span class="sev sev-${f.severity}">${h(f.severity)}</span><strong>${h(f.rule)}</strong><span>${h(f.subject.kind)}: ${h(subject)}</span></header>
<p>${h(f.explanation)}</p>
<dl><dt>Seen</dt><dd>${range(f.firstSeen, f.lastSeen)} · ${formatCount(f.count)} time${f.count === 1 ? "" : "s"}</dd>
<dt>Source</dt><dd>${sourceName(f.source)} · ${h(f.control)} · window <code>${h(f.windowId)}</code></dd>
${f.ipAddresses.length > 0 ? `<dt>IP addresses</dt><dd>${f.ipAddresses.map((ip) => `<code>${h(ip)}</code>`).join(" ")}</dd>` : ""}
${f.sampleIds.length > 0 ? `<dt>Sample records</dt><dd>${f.sampleIds.map((s) => `<code>${h(s)}</code>`).join(" ")}</dd>` : ""}
${f.evidenceManifest === null ? "" : `<dt>Evidence</dt><dd><code>${h(f.evidenceManifest)}</code></dd>`}
<dt>Finding id</dt><dd><code>${h(f.id)}</code></dd></dl></article>`;
}

function findingsSection(r: IncidentReport): string {
  if (r.findings.length === 0) return `<section id="findings"><h2>Findings</h2><p class="muted">The reviews found nothing to report.</p></section>`;
  return `<section id="findings"><h2>Findings (${String(r.findings.length)}), most severe first</h2><p class="muted">Sample record ids name the sign-ins, audits or risk detections that carry a finding; they are in the preserved evidence named beside them.</p>${r.findings.map(findingArticle).join("\n")}</section>`;
}

function huntsSection(r: IncidentReport): string {
  const blindHuntSources = r.windows.filter((w) => r.controls.some((c) => c.windowId === w.windowId && c.control === "hunt-checklist"));
  if (r.huntQueries.length === 0) {
    if (blindHuntSources.length === 0) return "";
    return `<section id="hunts"><h2>Hunt queries</h2><p class="muted">Windows of ${[...new Set(blindHuntSources.map((w) => sourceName(w.source)))].join(", ")} have a hunt checklist, but no hunt queries were available when this report was made.</p></section>`;
  }
  const items = r.huntQueries.map(
    (q) =>
      `<div class="hunt"><h3>${h(q.title)} <span class="tag">${h(q.product)}</span></h3><p>${h(q.why)}</p><p class="muted">${huntConsoleName(q.runIn) === null ? "" : `run in ${h(huntConsoleName(q.runIn) ?? "")} · `}${sourceName(q.source)} · window <code>${h(q.windowId)}</code> · query <code>${h(q.id)}</code></p><pre><code>${h(q.kql)}</code></pre></div>`,
  );
  return `<section id="hunts"><h2>Hunt queries for sources Graph cannot replay</h2><p class="muted">Run these in Sentinel, Defender or Purview for the blind hours; the window's times are filled in.</p>${items.join("\n")}</section>`;
}

function tasksSection(r: IncidentReport): string {
  if (r.tasks === null || r.tasks.length === 0) return `<section id="tasks"><h2>Tasks</h2><p class="muted">No tasks recorded.</p></section>`;
  const rows = r.tasks.map((k) => {
    const deliveries = k.deliveries.map((d) => `${h(d.channel)}: ${h(d.state)}${d.sentAt === null ? "" : ` ${tm(d.sentAt)}`}`).join("<br>");
    return `<tr><td>${h(k.title)}<br><code>${h(k.id)}</code></td><td>${h(k.status)}</td><td>${tm(k.dueDate)}</td><td>${k.acknowledgedBy === null ? "—" : `${h(k.acknowledgedBy)}<br>${tm(k.acknowledgedAt, "")}`}</td><td>${k.doneBy === null ? "—" : `${h(k.doneBy)}<br>${tm(k.doneAt, "")}`}</td><td>${deliveries === "" ? "—" : deliveries}</td></tr>`;
  });
  return `<section id="tasks"><h2>Tasks</h2><table><thead><tr><th>Task</th><th>Status</th><th>Due</th><th>Acknowledged by</th><th>Done by</th><th>Delivered</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`;
}

/** The report as a self-contained HTML page. */
export function renderReportHtml(r: IncidentReport): string {
  const lostNote = r.summary.lostHours > 0 ? ` — ${formatCount(r.summary.lostHours)} hours lost` : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="blindwindow">
<title>${h(`Incident report: ${r.tenant.name}${lostNote}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${headerSection(r)}
${lostSection(r)}
${figuresSection(r)}
${chartSection(r)}
${timelineSection(r)}
${windowsSection(r)}
${lostTableSection(r)}
${controlsSection(r)}
${findingsSection(r)}
${huntsSection(r)}
${tasksSection(r)}
<footer>Generated by blindwindow at ${tm(r.generatedAt)} UTC from its ledger, controls and findings${r.tasks === null ? "" : " and tasks"} for tenant <code>${h(r.tenant.tenantId)}</code> only. Report model version ${String(r.version)}.</footer>
</main>
</body>
</html>
`;
}
