import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { assessNotice } from "../../shared/domain/assessNotice.js";
import { foldNotice, matchTenants, mergeWindows, type AssessedRevision, type Contribution, type MatchableTenant } from "../../shared/domain/blindWindow.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";
import type { LogSourceId } from "../../shared/domain/logSource.js";
import { fixtureJson } from "../support/fixtures.js";

function sept(file: string): AssessedRevision {
  const parsed = parseNoticeDocument(fixtureJson("incident-2024-09", file), new Date("2024-10-04T00:00:00Z"));
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  return { notice: parsed.notice, assessment: assessNotice(parsed.notice) };
}

const active = sept("01-active.json");
const resolved = sept("02-resolved.json");
const pir = sept("03-pir.json");

describe("foldNotice: the September 2024 incident as it reached customers", () => {
  it("Active alone: an open loss window from 23:00 UTC on 2 September, not yet confirmed", () => {
    const impact = foldNotice([active]);
    expect(impact).toMatchObject({ noticeKey: "azure-monitor~4L44-3F0", effect: "loss", start: "2024-09-02T23:00:00.000Z", end: null, confirmed: false });
    expect(impact?.sources).toContain("entra-signin");
  });

  it("Active, Resolved, PIR: closed at 16:00 UTC on 19 September, confirmed, every revision in the history", () => {
    const impact = foldNotice([active, resolved, pir]);
    expect(impact).toMatchObject({ start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z", confirmed: true });
    expect(impact?.sources).toEqual(expect.arrayContaining(["entra-signin", "entra-audit", "sentinel", "azure-monitor"]));
    expect(impact?.history.map((h) => h.revision)).toEqual(["638616000000000001~Active", "638617000000000002~Resolved", "638625000000000003~RCA"]);
    expect(impact?.subscriptionIds).toEqual(["11111111-1111-1111-1111-111111111111", "45529734-0ed9-4895-a0df-44b59a5a07f9"]);
  });

  it("gives the same result for every arrival order and for repeated deliveries", () => {
    const expected = foldNotice([active, resolved, pir]);
    fc.assert(
      fc.property(fc.shuffledSubarray([active, resolved, pir, active, pir], { minLength: 5, maxLength: 5 }), (order) => {
        expect(foldNotice(order)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("opens nothing for a test action, or for a notice that is not about telemetry", () => {
    expect(foldNotice([sept("test-action.json")])).toBeUndefined();
    const legacy = parseNoticeDocument(fixtureJson("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json"), new Date());
    if (!legacy.ok) throw new Error("sample must parse");
    expect(foldNotice([{ notice: legacy.notice, assessment: assessNotice(legacy.notice) }])).toBeUndefined();
  });
});

const tenant = (id: string, o: Partial<MatchableTenant> = {}): MatchableTenant => ({
  tenantId: id,
  regions: ["West Europe"],
  logSources: ["entra-signin", "entra-audit"],
  onboardedAt: "2024-01-01T00:00:00Z",
  ...o,
});

describe("matchTenants", () => {
  const impact = foldNotice([active, resolved, pir]);
  if (!impact) throw new Error("the incident must be relevant");
  const owners = new Map([["11111111-1111-1111-1111-111111111111", "t-a"], ["45529734-0ed9-4895-a0df-44b59a5a07f9", "t-b"]]);

  it("matches the owners of the alert's subscriptions, only for the sources they rely on", () => {
    const matches = matchTenants(impact, [tenant("t-a"), tenant("t-b", { logSources: ["sentinel"] }), tenant("t-c")], owners);
    expect(matches).toEqual([
      { tenantId: "t-a", sources: ["entra-signin", "entra-audit"], start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z" },
      { tenantId: "t-b", sources: ["sentinel"], start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z" },
    ]);
  });

  it("filters by impacted region unless the notice is Global", () => {
    const regional = { ...impact, regions: ["East US"] };
    expect(matchTenants(regional, [tenant("t-a"), tenant("t-b", { regions: ["eastus"] })], owners).map((m) => m.tenantId)).toEqual(["t-b"]);
  });

  it("clips the window to the tenant's onboarding, and skips tenants onboarded after it closed", () => {
    const matches = matchTenants(impact, [tenant("t-a", { onboardedAt: "2024-09-10T00:00:00Z" }), tenant("t-b", { onboardedAt: "2024-09-30T00:00:00Z" })], owners);
    expect(matches).toEqual([{ tenantId: "t-a", sources: ["entra-signin", "entra-audit"], start: "2024-09-10T00:00:00.000Z", end: "2024-09-19T16:00:00.000Z" }]);
  });

  it("matches a manual notice to its listed tenants, or to every tenant relying on an affected source", () => {
    const manual = { ...impact, source: "manual" as const, subscriptionIds: [], tenantIds: [] };
    const all = [tenant("t-a"), tenant("t-b", { logSources: ["purview-audit"] }), tenant("t-c", { logSources: ["sentinel"] })];
    expect(matchTenants(manual, all, new Map()).map((m) => m.tenantId)).toEqual(["t-a", "t-c"]);
    expect(matchTenants({ ...manual, tenantIds: ["t-c"] }, all, new Map()).map((m) => m.tenantId)).toEqual(["t-c"]);
  });
});

const SOURCE: LogSourceId = "entra-signin";
const hour = (h: number): string => new Date(Date.UTC(2024, 8, 1) + h * 3_600_000).toISOString();
const contributionArb = fc
  .record({ n: fc.integer({ min: 0, max: 30 }), start: fc.integer({ min: 0, max: 400 }), length: fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }), loss: fc.boolean(), confirmed: fc.boolean() })
  .map(({ n, start, length, loss, confirmed }): Contribution => ({
    noticeKey: `manual~n${n}`,
    effect: loss ? "loss" : "delay",
    start: hour(start),
    end: length === null ? null : hour(start + length),
    confirmed,
    history: [],
  }));
// One contribution per notice, as the WindowContributions table holds them.
const contributionsArb = fc.uniqueArray(contributionArb, { selector: (c) => c.noticeKey, maxLength: 12 });

describe("mergeWindows (properties)", () => {
  it("is independent of order and idempotent", () => {
    fc.assert(
      fc.property(contributionsArb, fc.integer(), (contributions, seed) => {
        const a = mergeWindows("t", SOURCE, contributions, 30);
        const shuffled = [...contributions].sort((x, y) => ((x.noticeKey.length * 31 + seed) % 7) - ((y.noticeKey.length * 17 + seed) % 7) || x.noticeKey.localeCompare(y.noticeKey) * (seed % 2 ? 1 : -1));
        expect(mergeWindows("t", SOURCE, shuffled, 30)).toEqual(a);
        expect(mergeWindows("t", SOURCE, [...contributions].reverse(), 30)).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });

  it("covers every contribution with exactly one window, windows never overlap, and loss outranks delay", () => {
    fc.assert(
      fc.property(contributionsArb, (contributions) => {
        const windows = mergeWindows("t", SOURCE, contributions, 7);
        for (const c of contributions) {
          const holders = windows.filter((w) => w.notices.includes(c.noticeKey));
          expect(holders).toHaveLength(1);
          const w = holders[0];
          if (!w) continue;
          expect(w.start <= c.start).toBe(true);
          if (c.end === null) expect(w.end).toBeNull();
          else if (w.end !== null) expect(w.end >= c.end).toBe(true);
          if (c.effect === "loss") expect(w.effect).toBe("loss");
        }
        const sorted = [...windows].sort((a, b) => a.start.localeCompare(b.start));
        for (let i = 1; i < sorted.length; i++) {
          const prev = sorted[i - 1];
          const next = sorted[i];
          if (prev && next) expect(prev.end !== null && prev.end < next.start).toBe(true);
        }
        for (const w of windows) {
          expect(Date.parse(w.reviewDeadline) - Date.parse(w.start)).toBe(7 * 86_400_000);
          expect(w.status).toBe(w.end !== null ? "resolved" : w.notices.some((k) => contributions.find((c) => c.noticeKey === k)?.confirmed) ? "confirmed" : "suspected");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("keeps separate incidents separate and merges overlapping ones under a stable id", () => {
    const c = (n: string, s: number, e: number | null): Contribution => ({ noticeKey: n, effect: "loss", start: hour(s), end: e === null ? null : hour(e), confirmed: true, history: [] });
    const windows = mergeWindows("t", SOURCE, [c("a", 0, 10), c("b", 5, 20), c("c", 100, null)], 30);
    expect(windows.map((w) => [w.notices, w.start, w.end, w.status])).toEqual([
      [["a", "b"], hour(0), hour(20), "resolved"],
      [["c"], hour(100), null, "confirmed"],
    ]);
    expect(mergeWindows("t", SOURCE, [c("b", 5, 20), c("a", 0, 10)], 30)[0]?.windowId).toBe(windows[0]?.windowId);
  });
});

