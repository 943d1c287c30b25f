import { describe, expect, it } from "vitest";
import { adaptiveCardProblems } from "../../shared/adapters/adaptiveCardValidator.js";
import { buildTaskContent, taskId } from "../../shared/domain/task.js";
import { escapeCardText, MAX_CARD_BYTES, renderTaskCard, TASK_CARD_TEMPLATE, workflowMessage } from "../../shared/domain/taskCard.js";
import template from "../../shared/domain/cards/task-card.v1.json" with { type: "json" };
import { blindWindow, controlSummary, finding, huntQuery } from "../support/taskWorld.js";

const A = "aaaaaaaa-0000-4000-8000-000000000001";
const window = blindWindow(A);
const id = taskId(A, window.windowId);

function card(overrides: { noticeTitle?: string; tenantName?: string; findings?: number } = {}): Record<string, unknown> {
  const content = buildTaskContent({
    tenant: { tenantId: A, name: overrides.tenantName ?? "Contoso" },
    window,
    notices: [{ key: "manual~PIR-1", title: overrides.noticeTitle ?? "Post Incident Review" }],
    controls: [controlSummary(window, "signin-review", "done"), controlSummary(window, "preserve", "done", { evidence: { manifestPath: "a/w/manifest.json", blobs: 2, records: 900 } })],
    findings: Array.from({ length: overrides.findings ?? 2 }, (_, i) => finding(window, i + 1)),
    huntQueries: [huntQuery(1, window), huntQuery(2, window)],
  });
  return renderTaskCard({ id, status: "open", content });
}

type Element = Record<string, unknown> & { type: string; items?: Element[]; facts?: { title: string; value: string }[]; text?: string };

function texts(elements: readonly Element[]): string[] {
  return elements.flatMap((e) => [...(typeof e.text === "string" ? [e.text] : []), ...(e.facts ?? []).flatMap((f) => [f.title, f.value]), ...texts(e.items ?? [])]);
}

describe("the task card (Adaptive Card template v1)", () => {
  it("expands into a card the Adaptive Cards SDK parses without a warning, in a version every Teams client renders", () => {
    const c = card();
    expect(adaptiveCardProblems(c)).toEqual([]);
    expect(c).toMatchObject({ type: "AdaptiveCard", version: "1.4", msteams: { width: "Full" } });
    expect(TASK_CARD_TEMPLATE).toEqual({ name: "task-card", version: 1, cardVersion: "1.4" });
    expect(JSON.stringify(c)).not.toContain("${");
  });

  it("has the template's shape: headline, title, summary, facts, one container per section, the checklist, how to acknowledge", () => {
    const body = card().body as Element[];
    // Same top-level elements as the template, in order (the section container repeats per section).
    const templateTypes = (template.body as { type: string; $data?: string }[]).map((e) => e.type);
    const types = body.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(templateTypes.slice(0, 4));
    expect(types.slice(-3)).toEqual(templateTypes.slice(-3));
    const sections = body.filter((e) => e.type === "Container").slice(0, -1);
    expect(sections.map((s) => s.items?.[0]?.text)).toEqual(["What happened", "What is being done", "Findings", "Evidence", "Hunt queries", "Review deadline"]);
    const checklist = body.filter((e) => e.type === "Container").at(-1)?.items ?? [];
    expect(checklist.map((i) => i.text)).toEqual([
      "Checklist",
      "☐ Review 2 findings (2 high, 0 medium)",
      "☐ Check the preserved evidence (manifest in the task notes)",
      "☐ Run hunt (Defender XDR): Sign-ins from new countries (1)",
      "☐ Run hunt (Sentinel): Sign-ins from new countries (2)",
      "☐ Confirm the blind window, or dismiss it with a reason",
    ]);
    const facts = body.find((e) => e.type === "FactSet")?.facts ?? [];
    expect(facts.map((f) => f.title)).toEqual(["Tenant", "Source", "From", "To", "Effect", "Review by", "Status"]);
    expect(facts.find((f) => f.title === "Review by")?.value).toBe("2024-10-02 23:00 UTC");
    // Single column for phones: no ColumnSet anywhere.
    expect(JSON.stringify(body)).not.toContain("ColumnSet");
    expect(texts(body).some((t) => t.includes(`tasks ack ${id}`))).toBe(true);
  });

  it("turns no vendor or attacker text into a link, formatting or a template expression", () => {
    const hostile = "[Reset your password](https://evil.example/login) **now** <b>x</b> ${tenantName} `code`";
    const c = card({ noticeTitle: hostile, tenantName: "Contoso ${title}" });
    const all = texts(c.body as Element[]).join("\n");
    expect(all).not.toMatch(/(?<!\\)\[Reset your password(?<!\\)\]\(/);
    expect(all).not.toContain("https://evil");
    expect(all).toContain("\\[Reset your password\\]");
    expect(all).toContain("\\*\\*now\\*\\*");
    expect(all).toContain("Contoso $\u200b{title}"); // data stays data: not expanded, and not mistaken for an expression
    expect(all).not.toContain("Contoso Blind window");
    expect(adaptiveCardProblems(c)).toEqual([]);
    expect(escapeCardText("- item")).toBe("\\- item");
    expect(escapeCardText("1. item")).toBe("1\\. item");
    expect(escapeCardText("a\nb")).toBe("a b");
  });

  it("stays under Teams' size limit with many findings and hunts", () => {
    const big = card({ findings: 500 });
    expect(Buffer.byteLength(JSON.stringify(workflowMessage(big)))).toBeLessThan(MAX_CARD_BYTES);
  });

  it("is wrapped as the message a Workflows webhook takes", () => {
    const c = card();
    expect(workflowMessage(c)).toEqual({ type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: c }] });
  });

  it("the validator reports what Teams could not render", () => {
    expect(adaptiveCardProblems({ type: "AdaptiveCard", version: "1.4", body: [{ type: "Bogus" }] })).toEqual([expect.stringContaining('Unknown element type "Bogus"')]);
    expect(adaptiveCardProblems({ type: "AdaptiveCard", version: "2.0", body: [] })).toContainEqual(expect.stringContaining("version"));
    expect(adaptiveCardProblems({ type: "AdaptiveCard", version: "1.4", body: [{ type: "TextBlock", text: "${title}" }] })).toContainEqual(expect.stringContaining("unexpanded"));
    expect(adaptiveCardProblems([])).toEqual(["the card is not a JSON object"]);
  });
});
