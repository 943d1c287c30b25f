import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { noticeProcess } from "../../functions/noticeProcess.js";
import { TABLES } from "../../shared/adapters/tables.js";
import { LEDGER_TABLES } from "../../shared/adapters/tableLedgerStore.js";
import type { WorkQueue } from "../../shared/app/ports.js";
import type { Services } from "../../shared/runtime.js";
import { context } from "../support/http.js";
import { countEntities, queue, testServices, type CapturedLog } from "../support/storage.js";
import { caseCounts, counted, keyBreakingString, leakingLines, runs, SIGN_IN_RECORD, spiedServices } from "./fuzzSupport.js";

let azurite: EmbeddedAzurite;
let services: Services;
let log: CapturedLog;
let poisoned = 0;

const LEDGER = [TABLES.notices, TABLES.tenants, LEDGER_TABLES.contributions, LEDGER_TABLES.windows, LEDGER_TABLES.controls];

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  ({ services, log } = testServices(azurite));
});

afterAll(async () => {
  // Every undecodable message is on notices-poison, and nothing was written anywhere else.
  const props = await queue(azurite, "notices-poison").getProperties();
  expect(props.approximateMessagesCount).toBe(poisoned);
  for (const name of LEDGER) expect(await countEntities(azurite, name), name).toBe(0);
  expect(leakingLines(log.lines)).toEqual([]);
  await azurite.stop();
  const total = [...caseCounts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`queue fuzz cases: ${JSON.stringify(Object.fromEntries(caseCounts))} total ${total}\n`);
});

const VALID = { v: 1, kind: "notice-revision", source: "azure-monitor", id: "ABC1-DEF", revision: "1~Resolved" };

/** What the queue trigger can hand over: parsed JSON, a string it could not parse, bytes, or near-valid messages. */
const messages = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }),
  fc.anything({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.record({
    v: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 1 })),
    kind: fc.oneof(fc.constant("notice-revision"), fc.string()),
    source: fc.oneof(fc.constantFrom("azure-monitor", "m365", "manual", "detector"), fc.string()),
    id: fc.oneof(keyBreakingString(), fc.integer({ min: 500, max: 600 }).map((n) => "i".repeat(n))),
    revision: fc.oneof(keyBreakingString(), fc.constant("")),
    extra: fc.jsonValue({ maxDepth: 2 }),
  }, { requiredKeys: ["id"] }),
  // Messages as large as a queue holds (64 KiB base64, so ~48 KiB of text).
  fc.integer({ min: 1000, max: 48 * 1024 }).map((n) => ({ ...VALID, kind: "x".repeat(n) })),
  fc.integer({ min: 1000, max: 48 * 1024 }).map((n) => "y".repeat(n)),
  fc.constant({ ...VALID, id: undefined, signIn: SIGN_IN_RECORD }),
  fc.constant(SIGN_IN_RECORD),
);

describe("noticeProcess with undecodable or unknown messages", () => {
  it("never throws, poisons with a reason, and never writes to the ledger", async () => {
    await fc.assert(fc.asyncProperty(messages, counted("noticeProcess messages", async (message) => {
      const sent: { queue: string; message: unknown }[] = [];
      const spied = spiedServices(services);
      const recording: WorkQueue = { send: async (q, m) => { sent.push({ queue: q, message: m }); await spied.services.queue.send(q, m); } };
      const outcome = await noticeProcess(message, context("noticeProcess"), { ...spied.services, queue: recording });
      expect(outcome.outcome).toBe("poisoned");
      expect(sent).toHaveLength(1);
      expect(sent[0]?.queue).toBe("notices-poison");
      const poison = sent[0]?.message as { reason?: unknown; problems?: unknown };
      expect(typeof poison.reason).toBe("string");
      expect(Array.isArray(poison.problems) && poison.problems.length > 0).toBe(true);
      expect(spied.counter.writes).toBe(1); // the poison message, nothing else
      poisoned++;
    })), runs(1500));
  });
});
