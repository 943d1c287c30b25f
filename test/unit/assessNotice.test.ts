import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assessNotice, AssessmentSchema } from "../../shared/domain/assessNotice.js";
import type { Notice } from "../../shared/domain/notice.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";
import { noticeWindow } from "../../shared/domain/noticeWindow.js";

const NOTICES = fileURLToPath(new URL("../fixtures/notices/", import.meta.url));

interface CorpusCase {
  name: string;
  file: string;
  pick?: string;
  expected: unknown;
  evidence?: string[];
}
const corpus = (JSON.parse(readFileSync(`${NOTICES}expected.json`, "utf8")) as { cases: CorpusCase[] }).cases;

/** Loads a corpus file and turns it into a notice through the same entry point the CLI uses. */
function loadNotice(c: CorpusCase): Notice {
  let json = JSON.parse(readFileSync(`${NOTICES}${c.file}`, "utf8")) as Record<string, unknown>;
  if (c.pick === "wrapAlertContext") {
    // The maintenance sample is the alertContext fragment only; give it the envelope Service Health would send.
    json = {
      schemaId: "azureMonitorCommonAlertSchema",
      data: { essentials: { monitoringService: "ServiceHealth", alertTargetIDs: [] }, alertContext: json.alertContext },
    };
  } else if (c.pick) {
    const [key, index] = c.pick.split(".");
    json = (json[key ?? ""] as Array<Record<string, unknown>>)[Number(index)] ?? {};
  }
  // A fixed clock: only used for a manual notice without publishedAt, which the corpus does not contain.
  const parsed = parseNoticeDocument(json, new Date("2000-01-01T00:00:00Z"));
  if (!parsed.ok) throw new Error(`${c.file}: ${parsed.errors.join("; ")}`);
  return parsed.notice;
}

describe("assessNotice corpus", () => {
  it("has at least 30 cases, 12 of them negatives", () => {
    const negatives = corpus.filter((c) => !(c.expected as { relevant: boolean }).relevant);
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(negatives.length).toBeGreaterThanOrEqual(12);
  });

  it.each(corpus.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const assessment = assessNotice(loadNotice(c));
    expect(AssessmentSchema.parse(assessment)).toEqual(assessment);
    const { evidence, ...decision } = assessment;
    expect(decision).toEqual(c.expected);
    for (const fragment of c.evidence ?? []) {
      expect(evidence.some((line) => line.includes(fragment)), `evidence should contain "${fragment}":\n${evidence.join("\n")}`).toBe(true);
    }
    // Every source and a non-none effect is explained by an evidence line.
    for (const source of assessment.sources) expect(evidence.some((l) => l.startsWith(`source ${source}: `))).toBe(true);
    if (assessment.effect !== "none") expect(evidence.some((l) => l.startsWith(`effect ${assessment.effect}`))).toBe(true);
  });
});

const base: Notice = {
  source: "manual",
  id: "t",
  revision: "r",
  title: "",
  text: "",
  services: [],
  regions: [],
  subscriptionIds: [],
  tenantIds: [],
  publishedAt: "2024-10-04T00:00:00.000Z",
  synthetic: false,
};
const notice = (over: Partial<Notice>): Notice => ({ ...base, ...over });

describe("assessNotice rules", () => {
  it("treats 'no data was lost' as a delay even when loss words appear", () => {
    const a = assessNotice(notice({ title: "Sentinel", text: "Some Microsoft Sentinel events may appear missing until processing completes. No data was lost." }));
    expect(a.effect).toBe("delay");
    expect(a.relevant).toBe(true);
  });

  it("ranks loss above delay", () => {
    const a = assessNotice(notice({ text: "Sign-in logs were delayed, and some sign-in logs may be missing." }));
    expect(a.effect).toBe("loss");
    expect(a.evidence).toContain("also delay: phrase 'delayed' (rule delayed)");
  });

  it("ignores effect words in sentences that are not about telemetry", () => {
    const a = assessNotice(notice({ text: "Sign-in logs are available. Users may experience delays when signing in." }));
    expect(a.effect).toBe("none");
    expect(a.relevant).toBe(false);
  });

  it("does not map a bare product name to a log source", () => {
    const a = assessNotice(notice({ text: "Users may be unable to sign in to Microsoft Entra ID. Some requests may be delayed." }));
    expect(a.sources).toEqual([]);
  });

  it("tells Defender for Cloud Apps (XDR) from Defender for Cloud", () => {
    expect(assessNotice(notice({ text: "Microsoft Defender for Cloud Apps activity data is missing." })).sources).toEqual(["defender-xdr"]);
    expect(assessNotice(notice({ text: "Microsoft Defender for Cloud alerts data is missing." })).sources).toEqual(["defender-cloud"]);
  });

  it("tells the Azure Activity Log from Entra activity logs", () => {
    expect(assessNotice(notice({ text: "Azure Activity Log events are missing." })).sources).toEqual(["azure-activity"]);
    expect(assessNotice(notice({ text: "Microsoft Entra activity logs are incomplete." })).sources).toEqual(["entra-audit"]);
  });

  it("reports sources and window of a synthetic notice but never marks it relevant", () => {
    const a = assessNotice(notice({ synthetic: true, text: "Sentinel logs are missing.", impactStart: "2024-09-02T23:00:00.000Z" }));
    expect(a).toMatchObject({ relevant: false, synthetic: true, effect: "none", sources: ["sentinel"], window: { start: "2024-09-02T23:00:00Z", end: null } });
  });

  it("maps services as well as text", () => {
    const a = assessNotice(notice({ services: ["Log Analytics"], text: "Data ingestion latency of up to 2 hours." }));
    expect(a).toMatchObject({ relevant: true, effect: "delay", sources: ["azure-monitor"] });
    expect(a.evidence).toContain("source azure-monitor: service 'log analytics' (rule azure-monitor)");
  });
});

describe("noticeWindow", () => {
  const w = (text: string, publishedAt = "2024-10-04T00:00:00Z", extra: { impactStart?: string; impactEnd?: string } = {}) =>
    noticeWindow({ text, publishedAt, ...extra });

  it.each([
    ["Starting around 23:00 UTC on 2 September 2024 logs were lost. A fix was deployed beginning on 19 September.", "2024-09-02T23:00:00Z", "2024-09-20T00:00:00Z"],
    ["Starting around 23:00 UTC on 2 September 2024. Customers applied the workaround from 19 September.", "2024-09-02T23:00:00Z", "2024-09-20T00:00:00Z"],
    ["Between 08:10 UTC and 14:45 UTC on 03 Mar 2025, logs were incomplete.", "2025-03-03T08:10:00Z", "2025-03-03T14:45:00Z"],
    ["between 02:00 UTC on 1 June 2025 and 09:30 UTC on 2 June 2025", "2025-06-01T02:00:00Z", "2025-06-02T09:30:00Z"],
    ["Between September 2 and September 19, logs were incomplete.", "2024-09-02T00:00:00Z", "2024-09-20T00:00:00Z"],
    ["Starting February 10, 2026, at 6:00 AM UTC, data was missing.", "2026-02-10T06:00:00Z", null],
    ["Data from 2024-09-02T23:00Z until 2024-09-19 is missing.", "2024-09-02T23:00:00Z", "2024-09-20T00:00:00Z"],
    ["Since 09/02/2024 data is missing; mitigated on 09/19/2024.", "2024-09-02T00:00:00Z", "2024-09-20T00:00:00Z"],
    ["Since 25/09/2024 data is missing.", "2024-09-25T00:00:00Z", null],
    ["Between 2 and 19 September 2024 logs were missing.", "2024-09-02T00:00:00Z", "2024-09-20T00:00:00Z"],
    ["Logs were missing September 2–19, 2024.", "2024-09-02T00:00:00Z", "2024-09-20T00:00:00Z"],
    ["Starting at 02:00 PM PDT on 3 Sept. 2024, events were delayed.", "2024-09-03T21:00:00Z", null],
  ])("%s", (text, start, end) => {
    expect(w(text)).toMatchObject({ start, end });
  });

  it("takes the year from publishedAt, and the previous year for a later month", () => {
    expect(w("Starting at 23:00 UTC on 30 December, logs were delayed. Mitigated at 01:30 UTC.", "2025-01-02T00:00:00Z")).toMatchObject({
      start: "2024-12-30T23:00:00Z",
      end: "2024-12-31T01:30:00Z",
    });
  });

  it("prefers structured bounds and falls back to the text per bound", () => {
    const r = w("Mitigated at 14:00 UTC on 3 March 2025.", "2025-03-04T00:00:00Z", { impactStart: "2025-03-03T08:00:00.0000000Z" });
    expect(r).toMatchObject({ start: "2025-03-03T08:00:00Z", end: "2025-03-03T14:00:00Z" });
    expect(r.evidence).toContain("window start: impactStart 2025-03-03T08:00:00Z (structured)");
  });

  it("drops an end that is not after the start, leaving the window open", () => {
    expect(w("x", "2025-03-04T00:00:00Z", { impactStart: "2025-03-03T08:00:00Z", impactEnd: "2025-03-02T08:00:00Z" })).toMatchObject({ end: null });
    expect(w("Starting at 10:00 UTC on 5 May 2025 logs were lost. Mitigated on 1 May 2025.", "2025-05-06T00:00:00Z")).toMatchObject({ end: null });
  });

  it("ignores dates of the next update and of data 'prior to' a date", () => {
    expect(w("We'll provide an update by 18:00 UTC on 3 March 2025.", "2025-03-03T00:00:00Z")).toMatchObject({ start: null, end: null });
    expect(w("Reports don't contain data prior to August 1, 2022.", "2022-08-18T00:00:00Z")).toMatchObject({ start: null, end: null });
  });
});

describe("assessNotice properties", () => {
  const arbitraryNotice = fc.record({
    title: fc.string({ maxLength: 200 }),
    text: fc.oneof(
      fc.string({ maxLength: 600 }),
      // Fragments of real phrasing, shuffled, reach the window and effect rules far more often than random text.
      fc.array(
        fc.constantFrom(
          "Starting around 23:00 UTC on 2 September 2024", "between", "and", "09:30 UTC", "on 19 September", "sign-in logs",
          "may be incomplete", "no data was lost", "delayed", "Sentinel", "12/31/2024", "2024-09-02T23:00Z", "Mitigated at",
          "February 10, 2026, at 6:00 AM UTC", "from", "until", "2–19 September", ".", "\n", "Activity Log", "30 December",
        ),
        { maxLength: 30 },
      ).map((parts) => parts.join(" ")),
    ),
    synthetic: fc.boolean(),
    publishedAt: fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
    impactStart: fc.option(fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()), { nil: undefined }),
    impactEnd: fc.option(fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()), { nil: undefined }),
  });
  const toNotice = (r: { title: string; text: string; synthetic: boolean; publishedAt: string; impactStart: string | undefined; impactEnd: string | undefined }): Notice =>
    notice({ title: r.title, text: r.text, synthetic: r.synthetic, publishedAt: r.publishedAt, ...(r.impactStart ? { impactStart: r.impactStart } : {}), ...(r.impactEnd ? { impactEnd: r.impactEnd } : {}) });

  it("is deterministic and never throws", () => {
    fc.assert(
      fc.property(arbitraryNotice, (r) => {
        const n = toNotice(r);
        const first = assessNotice(n);
        expect(assessNotice(structuredClone(n))).toEqual(first);
        expect(AssessmentSchema.safeParse(first).success).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("keeps start ≤ end whenever both are set, and never marks a synthetic notice relevant", () => {
    fc.assert(
      fc.property(arbitraryNotice, (r) => {
        const a = assessNotice(toNotice(r));
        if (a.window.start !== null && a.window.end !== null) expect(Date.parse(a.window.start)).toBeLessThanOrEqual(Date.parse(a.window.end));
        if (r.synthetic) expect(a).toMatchObject({ relevant: false, effect: "none" });
        if (a.relevant) expect(a.sources.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });
});
