import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { runCli, type CliIo } from "../../cli/program.js";
import { registerAssess } from "../../cli/commands/assess.js";
import { registerIngest } from "../../cli/commands/ingest.js";
import { registerTenants } from "../../cli/commands/tenants.js";
import { registerWindows } from "../../cli/commands/windows.js";
import { fixtureText } from "../support/fixtures.js";
import { awkwardValue, caseCounts, counted, keyBreakingString, leakingLines, mutate, mutations, runs } from "./fuzzSupport.js";

const REGISTRARS = [registerAssess, registerIngest, registerTenants, registerWindows];
const FILE = "<FILE>";
const SAMPLES = [
  fixtureText("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json"),
  fixtureText("notices", "manual-sept-2024-pir.json"),
  fixtureText("tenants", "tenants.json"),
  fixtureText("microsoft-docs", "graph-serviceannouncement-issues-list-v1-response.json"),
];

let azurite: EmbeddedAzurite;
let dir: string;
const previousStorage = process.env.AzureWebJobsStorage;
const allOutput: string[] = [];

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  process.env.AzureWebJobsStorage = azurite.connectionString;
  dir = mkdtempSync(path.join(tmpdir(), "blindwindow-cli-fuzz-"));
});

afterAll(async () => {
  if (previousStorage === undefined) delete process.env.AzureWebJobsStorage;
  else process.env.AzureWebJobsStorage = previousStorage;
  rmSync(dir, { recursive: true, force: true });
  expect(leakingLines(allOutput)).toEqual([]);
  await azurite.stop();
  const total = [...caseCounts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`cli fuzz cases: ${JSON.stringify(Object.fromEntries(caseCounts))} total ${total}\n`);
});

/** File contents: arbitrary JSON, mutated real samples, and text that is not JSON at all. */
const contents = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ sample: fc.constantFrom(...SAMPLES), list: mutations(3) }).map(({ sample, list }) => JSON.stringify(mutate(JSON.parse(sample), list))),
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.constantFrom("", "\uFEFF", "{", "null", "[]", "{\"value\":[1,2]}", "{\"issues\":[{}]}", "{\"title\":\"t\",\"body\":\"b\"}"),
);

const argvPiece = fc.oneof(
  { weight: 3, arbitrary: fc.constant(FILE) },
  { weight: 3, arbitrary: fc.constantFrom("--json", "--tenant", "--status", "--help", "-h", "--", "-", "--version", "suspected", "confirmed", "resolved", "3f2b8c1e-6d4a-4e7b-9c5f-0a1d2e3f4b5c", "/nonexistent/file.json", ".", "/dev/null") },
  { weight: 2, arbitrary: keyBreakingString(12) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  // Not secrets: commander rightly echoes an unknown command as typed, which is no leak of ours.
  { weight: 1, arbitrary: awkwardValue().map((v) => String(v)).filter((v) => !/AccountKey|Bearer/.test(v)) },
);

const argvs = fc.record({
  command: fc.constantFrom(["assess"], ["assess"], ["ingest"], ["tenants", "import"], ["tenants", "list"], ["windows", "list"], ["tenants"], ["windows"], [], ["simulator"], ["assess", "--json"]),
  rest: fc.array(argvPiece, { maxLength: 4 }),
  content: contents,
});

describe("the CLI in-process: exit 0, or one error line; never an uncaught exception or a stack trace", () => {
  it("arbitrary argv and file contents", async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(argvs, counted("cli argv and files", async ({ command, rest, content }) => {
      const file = path.join(dir, `case-${String(++n)}.json`);
      writeFileSync(file, content);
      const argv = [...command, ...rest].map((a) => (a === FILE ? file : a));
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (t) => { out.push(t); }, err: (t) => { err.push(t); } };
      const code = await runCli(argv, REGISTRARS, io);
      allOutput.push(...out, ...err);
      const stderr = err.join("\n");
      const all = `${out.join("\n")}\n${stderr}`;
      expect(all, JSON.stringify(argv)).not.toMatch(/\n\s+at .+(:\d+:\d+\)?|<anonymous>)/);
      expect(all).not.toMatch(/TypeError|ReferenceError|RangeError|SyntaxError: Unexpected|Cannot read properties/);
      expect(Number.isInteger(code)).toBe(true);
      if (code === 0) return;
      // Commander answers a command group without a sub-command with its help on stderr; anything else is one line.
      if (/^Usage: /.test(stderr)) return;
      expect(err, JSON.stringify({ argv, err })).toHaveLength(1);
      expect(stderr).toMatch(/^(blindwindow: |error: )/);
      // Commander's own errors quote an unknown argument as typed (newlines included); ours never break the line.
      if (stderr.startsWith("error: ")) return;
      expect(stderr.includes("\n") || stderr.includes("\r"), JSON.stringify({ argv, stderr })).toBe(false);
    })), runs(1000));
  });
});
