import { describe, expect, it } from "vitest";
import { buildTaskContent, taskId } from "../../shared/domain/task.js";
import { buildMime, renderEscalationMail, renderTaskMail, type MailTask } from "../../shared/domain/taskMail.js";
import { blindWindow, controlSummary, finding, huntQuery } from "../support/taskWorld.js";

const A = "aaaaaaaa-0000-4000-8000-000000000001";
const window = blindWindow(A);
const HOSTILE = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`;

function task(overrides: { noticeTitle?: string; explanation?: string; running?: boolean } = {}): MailTask {
  const content = buildTaskContent({
    tenant: { tenantId: A, name: "Contoso & Sons" },
    window,
    notices: [{ key: "manual~PIR-1", title: overrides.noticeTitle ?? "Post Incident Review" }],
    controls: [controlSummary(window, "signin-review", overrides.running ? "running" : "done")],
    findings: [finding(window, 1, { explanation: overrides.explanation ?? "Spray from 203.0.113.1" })],
    huntQueries: [{ ...huntQuery(1, window), kql: "SigninLogs\n| where ResultType != 0 and UserPrincipalName has '<admin>'" }],
  });
  return { id: taskId(A, window.windowId), status: "open", dueDate: window.reviewDeadline, content };
}

/** Splits a multipart/alternative MIME message into headers and decoded parts. */
function parseMime(mime: string): { headers: Map<string, string>; parts: { type: string; text: string }[] } {
  const [head = "", ...rest] = mime.split("\r\n\r\n");
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const i = line.indexOf(":");
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const boundary = /boundary="([^"]+)"/.exec(headers.get("content-type") ?? "")?.[1] ?? "";
  const body = rest.join("\r\n\r\n");
  const parts = body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [partHead = "", ...partBody] = chunk.replace(/^\r\n/, "").split("\r\n\r\n");
      const type = /Content-Type: ([^;\r\n]+)/.exec(partHead)?.[1] ?? "";
      return { type, text: Buffer.from(partBody.join("").replace(/\s+/g, ""), "base64").toString("utf8") };
    });
  return { headers, parts };
}

describe("task e-mail", () => {
  it("HTML-escapes every value from a notice or a finding, and keeps it verbatim in the text part", () => {
    const mail = renderTaskMail(task({ noticeTitle: HOSTILE, explanation: HOSTILE }));
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;");
    expect(mail.html).toContain("Contoso &amp; Sons");
    expect(mail.html).toContain("UserPrincipalName has &apos;&lt;admin&gt;&apos;"); // KQL escaped inside <pre>
    expect(mail.text).toContain(HOSTILE);
    expect(mail.text).toContain("SigninLogs\n| where ResultType != 0");
    expect(mail.subject).toBe("[blindwindow] Blind window: Microsoft Entra sign-in logs lost, 2024-09-02 23:00 UTC – 2024-09-19 00:00 UTC — Contoso & Sons");
    expect(mail.text).toContain("[ ] Confirm the blind window, or dismiss it with a reason");
    expect(mail.text).toContain(`blindwindow tasks ack ${task().id} --by <you>`);
  });

  it("is one MIME message with a plain-text part and an HTML part, whose headers cannot be injected", () => {
    const mail = renderTaskMail(task());
    const mime = buildMime({
      from: "blindwindow@contoso.example",
      to: ["soc@contoso.example", "lead@contoso.example"],
      cc: ["ciso@contoso.example"],
      ...mail,
      subject: "Blind window – Entra\r\nBcc: attacker@evil.example",
      headers: { "X-Blindwindow-Task": "t1\r\nBcc: attacker@evil.example" },
    });
    expect(mime).not.toMatch(/\r\n(?!\s)[^:\r\n]*\n/); // every line ends CRLF
    const { headers, parts } = parseMime(mime);
    expect(headers.get("to")).toBe("soc@contoso.example, lead@contoso.example");
    expect(headers.get("cc")).toBe("ciso@contoso.example");
    expect(headers.has("bcc")).toBe(false);
    expect(headers.get("x-blindwindow-task")).toBe("t1 Bcc: attacker@evil.example");
    expect(headers.get("mime-version")).toBe("1.0");
    // Non-ASCII subject: RFC 2047 encoded words that decode back to the subject (line breaks flattened).
    const decoded = (headers.get("subject") ?? "").split(" ").map((w) => Buffer.from(/=\?UTF-8\?B\?([^?]+)\?=/.exec(w)?.[1] ?? "", "base64").toString("utf8")).join("");
    expect(decoded).toBe("Blind window – Entra Bcc: attacker@evil.example");
    expect(parts.map((p) => p.type)).toEqual(["text/plain", "text/html"]);
    expect(parts[0]?.text).toBe(mail.text);
    expect(parts[1]?.text).toBe(mail.html);
  });

  it("escalations say why: a deadline near with controls unfinished, or a deadline passed", () => {
    const running = task({ running: true });
    const warn = renderEscalationMail("warn-72h", running);
    expect(warn.subject).toMatch(/^\[blindwindow\] 72 h to deadline: /);
    expect(warn.text).toContain("about 72 hours away, and 1 control(s) are unfinished");
    expect(warn.text).toContain("signin-review: running");
    expect(renderEscalationMail("warn-24h", running).text).toContain("less than 24 hours away");
    const overdue = renderEscalationMail("overdue", { ...task(), status: "acknowledged", acknowledgedBy: "Ann <ann@contoso.example>", acknowledgedAt: "2024-10-01T08:00:00.000Z" });
    expect(overdue.subject).toMatch(/^\[blindwindow\] Overdue: /);
    expect(overdue.text).toContain("passed its review deadline (2024-10-02 23:00 UTC) and is still acknowledged (acknowledged by Ann <ann@contoso.example> at 2024-10-01 08:00 UTC)");
    expect(overdue.html).toContain("Ann &lt;ann@contoso.example&gt;");
    expect(renderEscalationMail("overdue", task()).text).toContain("nobody has acknowledged it");
  });
});
