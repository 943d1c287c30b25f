import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { runTs } from "../support/processes.js";

/** `review TENANT --from --to`: the investigator's ad hoc review, as a process against the Graph simulator. */
describe("review (CLI) against the Graph simulator", () => {
  let sim: GraphSimulator;
  beforeAll(async () => {
    sim = await startGraphSimulator({
      seed: 3,
      now: "2024-09-20T12:00:00Z",
      days: 10,
      timeScale: 100,
      tenants: [{ displayName: "Contoso", licence: "p2", users: 15, attacks: ["passwordSpray", "consentToApplication"] }],
      attacksBetween: { start: "2024-09-15T00:00:00Z", end: "2024-09-19T00:00:00Z" },
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("finds the planted attacks in the range and prints JSON only with --json", async () => {
    const tenant = sim.tenants[0]?.id ?? "";
    const r = await runTs("cli/index.ts", ["review", tenant, "--from", "2024-09-14T00:00:00Z", "--to", "2024-09-19T00:00:00Z", "--json", "--graph-time-scale", "100"], { BLINDWINDOW_GRAPH_BASE_URL: sim.url }, 120_000);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { sources: { source: string; records: number; lost: unknown }[]; findings: { rule: string; sampleIds: string[] }[] };
    expect(out.sources.map((s) => s.source)).toEqual(["entra-signin", "entra-audit", "entra-risk"]);
    expect(out.sources.find((s) => s.source === "entra-signin")?.records).toBeGreaterThan(100);
    const rules = new Set(out.findings.map((f) => f.rule));
    expect(rules).toContain("password-spray");
    expect(rules).toContain("consent-grant");
    const planted = new Set(sim.groundTruth.flatMap((a) => [...a.signInIds, ...a.auditIds]));
    expect(out.findings.some((f) => f.sampleIds.some((id) => planted.has(id)))).toBe(true);
  }, 120_000);

  it("prints a summary table and the findings for people, progress on stderr", async () => {
    const tenant = sim.tenants[0]?.id ?? "";
    const r = await runTs("cli/index.ts", ["review", tenant, "--from", "2024-09-14T00:00:00Z", "--to", "2024-09-19T00:00:00Z", "--sources", "entra-audit", "--graph-time-scale", "100"], { BLINDWINDOW_GRAPH_BASE_URL: sim.url }, 120_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^source\s+records\s+pages/m);
    expect(r.stdout).toMatch(/consent-grant/);
    expect(r.stderr).toMatch(/entra-audit\s+\[#+/);
  }, 120_000);

  it("says when the range reaches into the minutes Graph may still be adding records to, and reviews up to them", async () => {
    const tenant = sim.tenants[0]?.id ?? "";
    const started = Date.now();
    const from = new Date(started - 2 * 3_600_000).toISOString();
    const to = new Date(started + 3_600_000).toISOString();
    const r = await runTs("cli/index.ts", ["review", tenant, "--from", from, "--to", to, "--sources", "entra-audit", "--json", "--graph-time-scale", "100"], { BLINDWINDOW_GRAPH_BASE_URL: sim.url, BLINDWINDOW_REVIEW_SETTLE_MINUTES: "45" }, 120_000);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { sources: { source: string; reviewedTo: string }[] };
    const reviewedTo = Date.parse(out.sources[0]?.reviewedTo ?? "");
    expect(reviewedTo).toBeGreaterThanOrEqual(started - 45 * 60_000);
    expect(reviewedTo).toBeLessThanOrEqual(Date.now() - 45 * 60_000);
    expect(r.stderr).toMatch(/entra-audit: reviewed up to .*the last 45 minutes \(BLINDWINDOW_REVIEW_SETTLE_MINUTES\); review the rest later/);
  }, 120_000);

  it("says what to do, in one line and with a non-zero exit, when Graph refuses a Free tenant's sign-ins", async () => {
    const free = await startGraphSimulator({ seed: 4, now: "2024-09-20T12:00:00Z", days: 3, premiumRequiredForSignIns: true, tenants: [{ displayName: "Tailspin", licence: "free", users: 5, attacks: [] }] });
    try {
      const r = await runTs("cli/index.ts", ["review", free.tenants[0]?.id ?? "", "--from", "2024-09-18T00:00:00Z", "--to", "2024-09-19T00:00:00Z", "--sources", "entra-signin"], { BLINDWINDOW_GRAPH_BASE_URL: free.url }, 120_000);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/entra-signin: Graph gives sign-in logs only to tenants with Entra ID P1 or P2 \(403\); download them from the Entra admin center/);
    } finally {
      await free.close();
    }
  }, 120_000);

  it.each([
    ["a tenant that is not a GUID", ["review", "contoso", "--from", "2024-09-14T00:00:00Z", "--to", "2024-09-15T00:00:00Z"], /tenant must be a tenant id/],
    ["a range the wrong way round", ["review", "d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708", "--from", "2024-09-15T00:00:00Z", "--to", "2024-09-14T00:00:00Z"], /--from must be before --to/],
    ["an unknown source", ["review", "d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708", "--from", "2024-09-14T00:00:00Z", "--to", "2024-09-15T00:00:00Z", "--sources", "sentinel"], /--sources must name/],
    ["no Graph configured", ["review", "d4e5f6a7-b8c9-4d0e-a1f2-b3c4d5e6f708", "--from", "2024-09-14T00:00:00Z", "--to", "2024-09-15T00:00:00Z"], /Graph is not configured/],
  ])("refuses %s with one line and a non-zero exit", async (_name, args, pattern) => {
    const r = await runTs("cli/index.ts", args);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  });
});
