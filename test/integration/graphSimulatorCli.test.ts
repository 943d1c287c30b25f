import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, type CliIo } from "../../cli/program.js";
import { createSimulatorRegistrar } from "../../cli/commands/simulator.js";
import type { PlantedAttack } from "../../local/graphSimulator/dataGenerator.js";
import { simulatorToken } from "../../local/graphSimulator/simulatorToken.js";

function captureIo(): CliIo & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (t) => out.push(t), err: (t) => err.push(t), outText: () => out.join("\n"), errText: () => err.join("\n") };
}

describe("blindwindow simulator", () => {
  it("serves seeded tenants, prints them and writes the ground truth", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bw-sim-"));
    const truthFile = path.join(dir, "truth.json");
    const io = captureIo();
    let served: { url: string; status: number } | undefined;
    const registrar = createSimulatorRegistrar(async (sim) => {
      const tenant = sim.tenants[0]?.id ?? "";
      const res = await fetch(`${sim.url}/v1.0/auditLogs/signIns?$top=2`, { headers: { authorization: `Bearer ${simulatorToken(tenant)}` } });
      served = { url: sim.url, status: res.status };
    });
    const code = await runCli(["simulator", "--seed", "5", "--users", "3", "--days", "2", "--ground-truth", truthFile, "--json"], [registrar], io);
    expect(io.errText()).toBe("");
    expect(code).toBe(0);
    expect(served?.status).toBe(200);
    const printed = JSON.parse(io.outText()) as { url: string; tenants: { id: string; userCount: number; licence: string }[] };
    expect(printed.url).toBe(served?.url);
    expect(printed.tenants.map((t) => [t.licence, t.userCount])).toEqual([["p2", 3], ["free", 3]]);
    const truth = JSON.parse(readFileSync(truthFile, "utf8")) as PlantedAttack[];
    expect(truth).toHaveLength(18);
    expect(new Set(truth.map((a) => a.tenantId))).toEqual(new Set(printed.tenants.map((t) => t.id)));
    // The server is closed once the command returns.
    await expect(fetch(`${printed.url}/v1.0/auditLogs/signIns`)).rejects.toThrow();
  });

  it("prints a readable summary and rejects bad options", async () => {
    const io = captureIo();
    expect(await runCli(["simulator", "--users", "2", "--days", "1"], [createSimulatorRegistrar(() => Promise.resolve())], io)).toBe(0);
    expect(io.outText()).toMatch(/^Graph simulator on http:\/\/127\.0\.0\.1:\d+ \(clock 2024-09-20T12:00:00\.000Z, seed 1\)/);
    expect(io.outText()).toContain("Authorization: Bearer ");
    const bad = captureIo();
    expect(await runCli(["simulator", "--days", "0"], [createSimulatorRegistrar(() => Promise.resolve())], bad)).toBe(1);
    expect(bad.errText()).toContain("--days must be an integer from 1 to 365");
  });
});
