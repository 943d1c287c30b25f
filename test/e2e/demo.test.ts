import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTs } from "../support/processes.js";

/** `npm run demo` as a newcomer runs it (here with --json so the figures can be checked), in a process of its own. */
describe("npm run demo: the September 2024 incident end to end", () => {
  const out = mkdtempSync(path.join(tmpdir(), "bw-demo-"));
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it("finishes with every control done, the planted attacks found, tasks delivered, lost evidence stated and reports written", async () => {
    const run = await runTs("cli/index.ts", ["demo", "--json", "--out", out], {}, 170_000);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      seconds: number;
      notices: { received: number; processed: number; synthetic: number };
      controls: { total: number; done: number; failed: number };
      deliveries: Record<string, number>;
      reports: string[];
      tenants: { name: string; licence: string; lostHours: number; recordsRead: number; findings: number; rules: string[] }[];
    };
    expect(result.notices).toEqual({ received: 4, processed: 4, synthetic: 1 });
    expect(result.controls.total).toBeGreaterThan(10);
    expect(result.controls.done).toBe(result.controls.total);
    const byLicence = new Map(result.tenants.map((t) => [t.licence, t]));
    // The Free tenant's whole window (2 Sept 23:00 → 20 Sept 00:00) had left its 7-day retention by 4 October.
    expect(byLicence.get("free")).toMatchObject({ lostHours: 409, recordsRead: 0, findings: 0 });
    // P1 / P2: the first 35 hours were gone, the rest was read and the planted attacks found by their rules.
    expect(byLicence.get("p1")).toMatchObject({ lostHours: 35 });
    expect(byLicence.get("p1")?.rules).toEqual(expect.arrayContaining(["password-spray", "mfa-fatigue", "consent-grant", "legacy-auth-success"]));
    expect(byLicence.get("p2")?.rules).toEqual(expect.arrayContaining(["brute-force-success", "impossible-travel", "risky-signin", "role-assignment", "app-credential-added", "password-spray"]));
    expect(byLicence.get("p2")?.recordsRead).toBeGreaterThan(10_000);
    // Tasks went out on every channel the tenants configured.
    expect(result.deliveries.planner).toBeGreaterThan(0);
    expect(result.deliveries.teams).toBeGreaterThan(0);
    expect(result.deliveries.email).toBeGreaterThan(0);
    // One HTML and one Markdown report per tenant, naming the lost evidence.
    expect(result.reports).toHaveLength(6);
    for (const file of result.reports) expect(existsSync(file)).toBe(true);
    const free = result.reports.find((f) => f.includes("fabrikam") && f.endsWith(".md")) ?? "";
    expect(readFileSync(free, "utf8")).toMatch(/retention had already deleted/);
    expect(result.seconds).toBeGreaterThan(0);
  }, 180_000);
});
