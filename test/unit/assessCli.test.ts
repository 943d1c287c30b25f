import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { registerAssess } from "../../cli/commands/assess.js";
import { runCli, type CliIo } from "../../cli/program.js";
import { assessNotice } from "../../shared/domain/assessNotice.js";
import { normaliseServiceHealthIssue } from "../../shared/domain/m365Notice.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await runCli(["assess", ...args], [registerAssess], io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("blindwindow assess", () => {
  it("prints exactly assessNotice's result with --json", async () => {
    const file = fixture("notices/sept2024-pir-service-health.json");
    const { code, out, err } = await run([file, "--json"]);
    expect([code, err]).toEqual([0, ""]);
    const parsed = parseNoticeDocument(JSON.parse(readFileSync(file, "utf8")), new Date());
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    expect(JSON.parse(out)).toEqual(assessNotice(parsed.notice));
    expect(JSON.parse(out)).toMatchObject({ relevant: true, window: { start: "2024-09-02T23:00:00Z", end: "2024-09-20T00:00:00Z" } });
  });

  it("assesses each issue of a Graph list response and prints an array", async () => {
    const file = fixture("microsoft-docs/graph-serviceannouncement-issues-list-v1-response.json");
    const { code, out } = await run([file, "--json"]);
    expect(code).toBe(0);
    const issue = (JSON.parse(readFileSync(file, "utf8")) as { value: unknown[] }).value[0];
    const normalised = normaliseServiceHealthIssue(issue);
    if (!normalised.ok) throw new Error(normalised.errors.join("; "));
    expect(JSON.parse(out)).toEqual([assessNotice(normalised.notice)]);
  });

  it("prints a readable summary without --json", async () => {
    const { code, out } = await run([fixture("notices/defender-cloud-alerts-delayed.json")]);
    expect(code).toBe(0);
    expect(out).toContain("relevant: yes");
    expect(out).toContain("effect:   delay");
    expect(out).toContain("sources:  defender-cloud");
    expect(out).toContain("window:   2025-06-01T02:00:00Z → 2025-06-02T09:30:00Z (end exclusive)");
    expect(out).toContain("    - no loss: phrase 'no data was lost' (rule no-data-lost)");
  });

  it("fails with one line and a non-zero exit code for a missing file", async () => {
    const { code, out, err } = await run([join(tmpdir(), "blindwindow-no-such-file.json"), "--json"]);
    expect(code).not.toBe(0);
    expect(out).toBe("");
    expect(err).toMatch(/^blindwindow: cannot read .*blindwindow-no-such-file\.json: ENOENT$/);
    expect(err.split("\n")).toHaveLength(1);
  });

  it("fails with one line and a non-zero exit code for invalid JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "blindwindow-assess-"));
    const file = join(dir, "broken.json");
    writeFileSync(file, '{ "title": "x", "body": ');
    const { code, err } = await run([file]);
    expect(code).not.toBe(0);
    expect(err).toMatch(/^blindwindow: .*broken\.json is not valid JSON/);
    expect(err.split("\n")).toHaveLength(1);
  });

  it("fails with one line for JSON that is not a notice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "blindwindow-assess-"));
    const file = join(dir, "other.json");
    writeFileSync(file, JSON.stringify({ hello: "world" }));
    const { code, err } = await run([file, "--json"]);
    expect(code).not.toBe(0);
    expect(err).toMatch(/^blindwindow: .*other\.json is not a notice: /);
    expect(err.split("\n")).toHaveLength(1);
  });
});
