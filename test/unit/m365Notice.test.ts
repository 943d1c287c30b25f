import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { assessNotice } from "../../shared/domain/assessNotice.js";
import { contentHash } from "../../shared/domain/contentHash.js";
import { htmlToText } from "../../shared/domain/htmlToText.js";
import { isServiceHealthIssue, normaliseServiceHealthIssue, ServiceHealthIssueSchema } from "../../shared/domain/m365Notice.js";
import { NoticeSchema } from "../../shared/domain/notice.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";

const DOCS = fileURLToPath(new URL("../fixtures/microsoft-docs/", import.meta.url));
const load = (file: string): Record<string, unknown> => JSON.parse(readFileSync(`${DOCS}${file}`, "utf8")) as Record<string, unknown>;
const listSample = load("graph-serviceannouncement-issues-list-v1-response.json");
const overviewSample = load("m365-healthoverview-with-issues-EX415080-cli-docs.json");
const ex226792 = (listSample.value as unknown[])[0];
const ex415080 = (overviewSample.issues as unknown[])[0];

describe("ServiceHealthIssueSchema", () => {
  it("accepts the PascalCase list sample and the camelCase CLI sample, storing documented camelCase", () => {
    const pascal = ServiceHealthIssueSchema.parse(ex226792);
    const camel = ServiceHealthIssueSchema.parse(ex415080);
    expect([pascal.classification, pascal.status]).toEqual(["incident", "serviceRestored"]);
    expect([camel.classification, camel.status]).toEqual(["advisory", "serviceRestored"]);
  });

  it("keeps an unknown (future) status instead of rejecting the issue", () => {
    expect(ServiceHealthIssueSchema.parse({ ...(ex226792 as object), status: "SomethingNew" }).status).toBe("SomethingNew");
  });

  it("accepts 7 fractional digits and rejects a timestamp that is not ISO 8601", () => {
    expect(ServiceHealthIssueSchema.safeParse({ ...(ex226792 as object), lastModifiedDateTime: "2022-08-18T16:46:04.1330000Z" }).success).toBe(true);
    expect(ServiceHealthIssueSchema.safeParse({ ...(ex226792 as object), startDateTime: "yesterday" }).success).toBe(false);
  });
});

describe("isServiceHealthIssue", () => {
  it("recognises both samples and nothing else", () => {
    expect(isServiceHealthIssue(ex226792)).toBe(true);
    expect(isServiceHealthIssue(ex415080)).toBe(true);
    expect(isServiceHealthIssue(listSample)).toBe(false);
    expect(isServiceHealthIssue(load("azure-monitor-common-schema-servicehealth-testaction.json"))).toBe(false);
    expect(isServiceHealthIssue({ title: "PIR", body: "text" })).toBe(false);
    expect(isServiceHealthIssue(null)).toBe(false);
  });
});

describe("normaliseServiceHealthIssue", () => {
  it("normalises EX226792 (list sample) into a valid notice", () => {
    const result = normaliseServiceHealthIssue(ex226792, "00000000-0000-0000-0000-000000000001");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const n = result.notice;
    expect(NoticeSchema.parse(n)).toEqual(n);
    expect(n).toMatchObject({
      source: "m365",
      id: "EX226792",
      title: "Limited number of users unable to send or receive email through the Exchange Online service",
      services: ["Exchange Online"],
      regions: [],
      subscriptionIds: [],
      tenantIds: ["00000000-0000-0000-0000-000000000001"],
      incidentType: "incident",
      stage: "serviceRestored",
      publishedAt: "2020-11-14T18:20:24.767Z",
      impactStart: "2020-11-13T21:00:00.000Z",
      impactEnd: "2020-11-14T17:15:00.000Z",
      synthetic: false,
    });
    const posts = (ex226792 as { posts: unknown[] }).posts;
    expect(n.revision).toBe(`2020-11-14T18:20:24.767Z~${contentHash(posts, 16)}~00000000-0000-0000-0000-000000000001`);
    expect(n.text.startsWith("Users may have been unable to send or receive email")).toBe(true);
    expect(n.text).toContain("User Impact: Users may be unable to send or receive email");
  });

  it("normalises EX415080 (CLI sample): mojibake repaired, stray backslashes removed, no tenant", () => {
    const result = normaliseServiceHealthIssue(ex415080);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notice.tenantIds).toEqual([]);
    expect(result.notice.title).toBe("Admins’ downloaded CSV mailbox usage reports via Microsoft 365 admin center don’t contain data prior to August 1, 2022");
    expect(result.notice.text).not.toContain("ÔÇÖ");
    expect(result.notice.text).not.toContain("\\");
    expect(result.notice.text).toContain("Current status: We're investigating a potential issue");
  });

  it("changes the revision when a post is added", () => {
    const issue = ex226792 as { posts: unknown[] };
    const more = { ...issue, posts: [...issue.posts, { createdDateTime: "2020-11-14T17:20:00Z", postType: "Regular", description: { contentType: "Html", content: "<p>Final status: resolved.</p>" } }] };
    const a = normaliseServiceHealthIssue(issue);
    const b = normaliseServiceHealthIssue(more);
    expect(a.ok && b.ok && a.notice.revision !== b.notice.revision).toBe(true);
  });

  it("leaves impactEnd out while the issue is ongoing (endDateTime null)", () => {
    const result = normaliseServiceHealthIssue({ ...(ex226792 as object), endDateTime: null });
    expect(result.ok && result.notice.impactEnd).toBe(undefined);
  });

  it("names every problem of an invalid issue", () => {
    const result = normaliseServiceHealthIssue({ id: "", title: 3, posts: [] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.some((e) => e.startsWith("id:"))).toBe(true);
    expect(result.errors.some((e) => e.startsWith("title:"))).toBe(true);
    expect(result.errors.some((e) => e.startsWith("lastModifiedDateTime:"))).toBe(true);
  });

  it("is reached through parseNoticeDocument", () => {
    const parsed = parseNoticeDocument(ex415080, new Date("2030-01-01T00:00:00Z"));
    expect(parsed.ok && parsed.notice.source).toBe("m365");
  });
});

describe("assessment of the real Graph samples", () => {
  it("EX415080 (usage-report data gap) is not relevant", () => {
    const result = normaliseServiceHealthIssue(ex415080);
    if (!result.ok) throw new Error(result.errors.join("; "));
    expect(assessNotice(result.notice)).toMatchObject({ relevant: false, effect: "none", sources: [] });
  });

  it("EX226792 (mail flow) is not relevant", () => {
    const result = normaliseServiceHealthIssue(ex226792);
    if (!result.ok) throw new Error(result.errors.join("; "));
    expect(assessNotice(result.notice).relevant).toBe(false);
  });
});

describe("htmlToText", () => {
  it("turns block tags into lines, drops other tags and decodes entities", () => {
    expect(htmlToText("<p><strong>Summary of impact</strong>:&nbsp;This is the impact.</p>\n<p><br></p><p>Next &amp; last</p>")).toBe(
      "Summary of impact: This is the impact.\nNext & last",
    );
  });

  it("keeps encoded markup as text and drops scripts and comments", () => {
    expect(htmlToText("<div>a &lt;p&gt; b<!-- hidden --><script>x()</script></div>")).toBe("a <p> b");
  });

  it("passes plain text through with whitespace normalised", () => {
    expect(htmlToText("Title: x\n\n  User impact:   y ")).toBe("Title: x\nUser impact: y");
  });
});

describe("limits of our own storage", () => {
  it("refuses an issue whose id would make a notice we could store but never read back", () => {
    const huge = { ...(ex226792 as Record<string, unknown>), id: "X".repeat(600) };
    const result = normaliseServiceHealthIssue(huge, "00000000-0000-0000-0000-000000000001");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatch(/^id: /);
  });
});
