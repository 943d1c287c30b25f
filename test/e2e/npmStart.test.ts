import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runTs, spawnTs, waitForOutput } from "../support/processes.js";
import { fixturePath, fixtureText } from "../support/fixtures.js";

const KEY = "e2e-function-key-0123456789";
let host: ChildProcessWithoutNullStreams;
let baseUrl: string;
let storage: string;

beforeAll(async () => {
  // `npm start` is `tsx local/start.ts`: exactly this, with no AzureWebJobsStorage, so Azurite is embedded.
  host = spawnTs("local/start.ts", ["--port", "0", "--max-poll-ms", "200"], { BLINDWINDOW_FUNCTION_KEY: KEY });
  const banner = await waitForOutput(host, /export AzureWebJobsStorage='[^']+'/);
  baseUrl = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] ?? "";
  storage = /export AzureWebJobsStorage='([^']+)'/.exec(banner)?.[1] ?? "";
  expect(baseUrl).not.toBe("");
  expect(banner).toContain("function key: from BLINDWINDOW_FUNCTION_KEY");
  expect(banner).not.toContain(KEY);
});
afterAll(async () => {
  if (host.exitCode === null) {
    host.kill("SIGTERM");
    await once(host, "exit");
  }
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("npm start (local host, embedded Azurite, no Core Tools)", () => {
  it("answers the README's curl of the documented sample with 202 and processes it", async () => {
    const response = await fetch(`${baseUrl}/api/notices/azure-monitor`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": KEY },
      body: fixtureText("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json"),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ noticeKey: "azure-monitor~0NIH-U2O", duplicate: false });
    const health = await waitFor(async () => {
      const r = await fetch(`${baseUrl}/api/health?code=${KEY}`);
      const body = (await r.json()) as { status: string; components: { component: string }[] };
      return body.components.some((c) => c.component === "noticeProcess") ? body : undefined;
    });
    expect(health.status).toBe("ok");
  });

  it("refuses requests without the function key", async () => {
    const response = await fetch(`${baseUrl}/api/notices`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(401);
  });

  it("lets the CLI record into the same storage: ingest, then the same file again", async () => {
    const env = { AzureWebJobsStorage: storage };
    const file = fixturePath("notices", "manual-sept-2024-pir.json");
    const first = await runTs("cli/index.ts", ["ingest", file], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^recorded: manual~PIR-SEPT-2024-LOGS revision [0-9a-f]{24} — Post Incident Review/);
    const again = await runTs("cli/index.ts", ["ingest", file, "--json"], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ noticeKey: "manual~PIR-SEPT-2024-LOGS", duplicate: true });
  });

  it("stops cleanly on SIGTERM", async () => {
    host.kill("SIGTERM");
    const [code] = (await once(host, "exit")) as [number | null];
    expect(code).toBe(0);
  });
});

describe("the CLI's errors are one line and a non-zero exit", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "bw-cli-"));
  const broken = path.join(dir, "broken.json");
  writeFileSync(broken, "{ not json");
  const invalid = path.join(dir, "invalid.json");
  writeFileSync(invalid, JSON.stringify({ title: "x" }));

  it("--help lists the commands and exits 0", async () => {
    const r = await runTs("cli/index.ts", ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ingest");
  });

  it.each([
    ["a missing file", ["ingest", path.join(dir, "nope.json")], /^blindwindow: cannot read .*nope\.json: ENOENT$/],
    ["invalid JSON", ["ingest", broken], /^blindwindow: .*broken\.json is not valid JSON/],
    ["no storage configured", ["ingest", invalid], /^blindwindow: no storage configured/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
  ])("%s", async (_name, args, pattern) => {
    const r = await runTs("cli/index.ts", args);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(pattern);
  });

  it("an invalid notice names its problems", async () => {
    const r = await runTs("cli/index.ts", ["ingest", invalid], { AzureWebJobsStorage: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1" });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^blindwindow: The notice is not valid: .*body/);
  });
});
