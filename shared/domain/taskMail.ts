import { encode } from "html-entities";
import { contentHash } from "./contentHash.js";
import { formatUtc, type EscalationKind, type TaskContent, type TaskStatus } from "./task.js";

/**
 * Task e-mail: an HTML part and a plain-text part of the same content, as one MIME message (multipart/alternative).
 * Graph `sendMail` takes either a JSON message with a single body type or base64 MIME (`Content-Type: text/plain`,
 * https://learn.microsoft.com/graph/outlook-send-mime-message); only MIME carries both parts. Every value from a
 * notice, a finding or a profile is HTML-escaped in the HTML part; header values are stripped of line breaks.
 */

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface MailTask {
  id: string;
  status: TaskStatus;
  dueDate: string;
  acknowledgedBy?: string | undefined;
  acknowledgedAt?: string | undefined;
  content: TaskContent;
}

/** Where a hunt query runs, for people. */
const RUN_IN: Readonly<Record<string, string>> = {
  "log-analytics": "Log Analytics workspace › Logs (Microsoft Sentinel › Logs)",
  "advanced-hunting": "Microsoft Defender portal › Hunting › Advanced hunting",
};
const runIn = (where: string | undefined): string => (where === undefined ? "" : ` (run in ${RUN_IN[where] ?? where})`);

const h = (text: string): string => encode(text, { mode: "specialChars", level: "html5" });

const STYLE = {
  body: "font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#201f1e;max-width:720px",
  heading: "font-size:15px;margin:18px 0 6px",
  pre: "background:#f3f2f1;padding:8px;white-space:pre-wrap;word-break:break-word;font-family:Consolas,monospace;font-size:12px",
} as const;

function htmlSections(content: TaskContent): string {
  return content.sections
    .map((s) => `<h3 style="${STYLE.heading}">${h(s.heading)}</h3>\n<ul>\n${s.lines.map((l) => `<li>${h(l)}</li>`).join("\n")}\n</ul>`)
    .join("\n");
}

function textSections(content: TaskContent): string {
  return content.sections.map((s) => `${s.heading.toUpperCase()}\n${s.lines.map((l) => `- ${l}`).join("\n")}`).join("\n\n");
}

function howToAcknowledge(id: string): string {
  return `Acknowledge with: blindwindow tasks ack ${id} --by <you>   (or POST /api/tasks/${id}/ack {"by": "<you>"}); when finished: tasks done ${id} --by <you>.`;
}

/** The task e-mail: summary, sections, checklist and every hunt query's KQL with the window's times filled in. */
export function renderTaskMail(task: MailTask): RenderedMail {
  const c = task.content;
  const subject = `[blindwindow] ${c.title}`;
  const hunts = c.huntQueries;
  const html = [
    `<!DOCTYPE html>`,
    `<html><head><meta charset="utf-8"><title>${h(c.title)}</title></head>`,
    `<body style="${STYLE.body}">`,
    `<h2 style="font-size:18px">${h(c.title)}</h2>`,
    `<p>${h(c.summary)}</p>`,
    htmlSections(c),
    `<h3 style="${STYLE.heading}">Checklist</h3>`,
    `<ul>\n${c.checklist.map((i) => `<li>&#9744; ${h(i.title)}</li>`).join("\n")}\n</ul>`,
    ...(hunts.length > 0
      ? [`<h3 style="${STYLE.heading}">Hunt queries (KQL)</h3>`, ...hunts.map((q) => `<p><b>${h(q.product)}: ${h(q.title)}</b>${h(runIn(q.runIn))}<br>${h(q.why)}</p>\n<pre style="${STYLE.pre}">${h(q.kql)}</pre>`)]
      : []),
    `<p style="color:#605e5c">${h(howToAcknowledge(task.id))}<br>Status: ${h(task.status)} · task ${h(task.id)}</p>`,
    `</body></html>`,
  ].join("\n");
  const text = [
    c.title,
    "",
    c.summary,
    "",
    textSections(c),
    "",
    "CHECKLIST",
    ...c.checklist.map((i) => `[ ] ${i.title}`),
    ...(hunts.length > 0 ? ["", "HUNT QUERIES (KQL)", ...hunts.flatMap((q) => ["", `${q.product}: ${q.title}${runIn(q.runIn)}`, q.why, "", q.kql])] : []),
    "",
    howToAcknowledge(task.id),
    `Status: ${task.status} · task ${task.id}`,
  ].join("\n");
  return { subject, html, text };
}

/** An escalation: a deadline warning while controls are unfinished, or an overdue task. */
export function renderEscalationMail(kind: EscalationKind, task: MailTask): RenderedMail {
  const c = task.content;
  const deadline = formatUtc(task.dueDate);
  const unfinished = c.controls.filter((x) => x.state === "planned" || x.state === "running");
  const lead =
    kind === "overdue"
      ? `This task passed its review deadline (${deadline}) and is still ${task.status}${task.acknowledgedBy ? ` (acknowledged by ${task.acknowledgedBy} at ${formatUtc(task.acknowledgedAt ?? "")})` : " and nobody has acknowledged it"}. The oldest hours of the window are leaving Entra retention: evidence is being lost for good.`
      : `The review deadline of this task is ${deadline}, ${kind === "warn-72h" ? "about 72 hours" : "less than 24 hours"} away, and ${unfinished.length === 0 ? "its controls are not finished" : `${String(unfinished.length)} control(s) are unfinished`}. After the deadline the oldest hour of the window leaves Entra retention.`;
  const subject = `[blindwindow] ${kind === "overdue" ? "Overdue" : kind === "warn-72h" ? "72 h to deadline" : "24 h to deadline"}: ${c.title}`;
  const controlLines = c.controls.map((x) => `${x.control}: ${x.progress}`);
  const html = [
    `<!DOCTYPE html>`,
    `<html><head><meta charset="utf-8"><title>${h(subject)}</title></head>`,
    `<body style="${STYLE.body}">`,
    `<h2 style="font-size:18px">${h(c.title)}</h2>`,
    `<p><b>${h(lead)}</b></p>`,
    `<p>${h(c.summary)}</p>`,
    ...(controlLines.length > 0 ? [`<h3 style="${STYLE.heading}">Controls</h3>`, `<ul>\n${controlLines.map((l) => `<li>${h(l)}</li>`).join("\n")}\n</ul>`] : []),
    `<p style="color:#605e5c">${h(howToAcknowledge(task.id))}</p>`,
    `</body></html>`,
  ].join("\n");
  const text = [c.title, "", lead, "", c.summary, ...(controlLines.length > 0 ? ["", "CONTROLS", ...controlLines.map((l) => `- ${l}`)] : []), "", howToAcknowledge(task.id)].join("\n");
  return { subject, html, text };
}

// ---- MIME ----

export interface MimeMessage {
  from: string;
  to: readonly string[];
  cc?: readonly string[];
  subject: string;
  html: string;
  text: string;
  /** Extra `X-` headers (delivery marker). */
  headers?: Readonly<Record<string, string>>;
}

/** A header value on one line: CR, LF and other control characters could start a new header (header injection). */
function headerValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a header value must not hold
  return value.replace(/[\u0000-\u001f\u007f]+/gu, " ").trim();
}

/** RFC 2047 encoded-word for non-ASCII header text (UTF-8, base64), split so each word stays under 75 characters. */
function encodeHeaderText(value: string): string {
  const clean = headerValue(value);
  if (/^[\u0020-\u007e]*$/u.test(clean)) return clean;
  const words: string[] = [];
  let chunk = "";
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch, "utf8") > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join("\r\n ");
}

function base64Lines(text: string): string {
  const b64 = Buffer.from(text, "utf8").toString("base64");
  return (b64.match(/.{1,76}/gu) ?? []).join("\r\n");
}

/** An RFC 5322 message, multipart/alternative (text first, HTML last: the preferred part comes last), CRLF line ends. */
export function buildMime(message: MimeMessage): string {
  const boundary = `bw-${contentHash([message.subject, message.text, message.html], 24)}`;
  const headers = [
    `From: ${headerValue(message.from)}`,
    `To: ${message.to.map(headerValue).join(", ")}`,
    ...(message.cc && message.cc.length > 0 ? [`Cc: ${message.cc.map(headerValue).join(", ")}`] : []),
    `Subject: ${encodeHeaderText(message.subject)}`,
    "MIME-Version: 1.0",
    ...Object.entries(message.headers ?? {}).map(([name, value]) => `${name.replace(/[^A-Za-z0-9-]/gu, "")}: ${headerValue(value)}`),
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  return [
    ...headers,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(message.text),
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(message.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}
