import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { scheduledTimer } from "../support/builders.js";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { emptyAccount } from "../support/azurite.js";
import { noticeProcess } from "../../functions/noticeProcess.js";
import { noticeWebhook } from "../../functions/noticeWebhook.js";
import { sweeper } from "../../functions/sweeper.js";
import { health } from "../../functions/health.js";
import type { Services } from "../../shared/runtime.js";
import { commonAlert } from "../support/fixtures.js";
import { bodyJson, context, getRequest, jsonRequest } from "../support/http.js";
import { ManualClock, peekAll, testServices } from "../support/storage.js";

let azurite: EmbeddedAzurite;
let services: Services;
let clock: ManualClock;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite);
  clock = new ManualClock(new Date("2024-10-03T09:00:00Z"));
  ({ services } = testServices(azurite, {}, clock));
});


async function record(trackingId: string, communicationId = "1"): Promise<void> {
  const response = await noticeWebhook(jsonRequest("http://localhost/api/notices/azure-monitor", commonAlert({ trackingId, communicationId })), context(), services);
  expect(response.status).toBe(202);
}

describe("noticeProcess (queue trigger on notices)", () => {
  it("marks a stored notice processed and records a heartbeat", async () => {
    await record("P-1");
    const [message] = await peekAll(azurite, "notices");
    const outcome = await noticeProcess(message, context("noticeProcess"), services);
    expect(outcome.outcome).toBe("processed");
    expect((await services.notices.getNotice("azure-monitor", "P-1"))?.state).toBe("processed");
    expect((await services.heartbeats.list()).map((h) => h.component)).toContain("noticeProcess");
  });

  it("is idempotent: processing the same message again changes nothing", async () => {
    await record("P-2");
    const [message] = await peekAll(azurite, "notices");
    await noticeProcess(message, context(), services);
    const first = await services.notices.getNotice("azure-monitor", "P-2");
    clock.advance(60_000);
    expect((await noticeProcess(message, context(), services)).outcome).toBe("processed");
    expect((await services.notices.getNotice("azure-monitor", "P-2"))?.processedAt).toBe(first?.processedAt);
  });

  it("leaves a notice pending when a newer revision arrived meanwhile", async () => {
    await record("P-3", "1");
    const [message] = await peekAll(azurite, "notices");
    await noticeProcess(message, context(), services);
    await record("P-3", "2");
    expect((await services.notices.getNotice("azure-monitor", "P-3"))?.state).toBe("pending");
  });

  it("keeps what processing recorded (contribution keys, outcome) when a new revision arrives", async () => {
    await record("P-5", "1");
    const stored = await services.notices.getNotice("azure-monitor", "P-5");
    if (!stored) throw new Error("notice must be stored");
    const etag = await services.notices.reserveContributionKeys("azure-monitor", "P-5", stored.etag, ["t1~entra-signin"]);
    expect(etag).toBeDefined();
    await record("P-5", "2");
    const after = await services.notices.getNotice("azure-monitor", "P-5");
    expect(after?.contributionKeys).toEqual(["t1~entra-signin"]);
    expect(after?.state).toBe("pending");
    expect(after?.lastRevision).toBe("2~Resolved");
  });

  it.each<[string, unknown]>([
    ["a plain string", "hello"],
    ["a wrong shape", { v: 1, kind: "notice-revision", source: "nowhere", id: 5 }],
    ["an unknown version", { v: 2, kind: "notice-revision", source: "manual", id: "a", revision: "b" }],
  ])("moves an undecodable message (%s) to notices-poison with the reason", async (_name, message) => {
    const outcome = await noticeProcess(message, context(), services);
    expect(outcome.outcome).toBe("poisoned");
    const [poisoned] = (await peekAll(azurite, "notices-poison")) as { reason: string; problems: string[]; message: unknown }[];
    expect(poisoned?.reason).toBe("invalid notice message");
    expect(poisoned?.problems.length).toBeGreaterThan(0);
    expect(poisoned?.message).toEqual(message);
  });

  it("poisons a message naming a notice that is not stored", async () => {
    const outcome = await noticeProcess({ v: 1, kind: "notice-revision", source: "manual", id: "ghost", revision: "r" }, context(), services);
    expect(outcome).toEqual({ outcome: "poisoned", problems: ["notice manual~ghost revision r is not stored"] });
  });

  it("throws (so the queue retries) when storage is down", async () => {
    await record("P-4");
    const [message] = await peekAll(azurite, "notices");
    await azurite.stopService("table");
    await expect(noticeProcess(message, context(), services)).rejects.toThrow(/Storage is unavailable/);
    await azurite.startService("table");
  });
});

describe("sweeper (scheduledTimer)", () => {
  it("re-enqueues notices stored but not processed within 5 minutes, and beats", async () => {
    await record("S-1");
    await record("S-2");
    const messages = await peekAll(azurite, "notices");
    await noticeProcess(messages[1], context(), services); // S-2 processed; S-1's message is "lost"
    const { QueueClient } = await import("@azure/storage-queue");
    await new QueueClient(azurite.connectionString, "notices").clearMessages();

    clock.advance(4 * 60_000);
    expect(await sweeper(scheduledTimer, context("sweeper"), services)).toMatchObject({ reenqueued: 0 });
    clock.advance(2 * 60_000);
    expect(await sweeper(scheduledTimer, context("sweeper"), services)).toMatchObject({ reenqueued: 1 });
    expect(await peekAll(azurite, "notices")).toEqual([{ v: 1, kind: "notice-revision", source: "azure-monitor", id: "S-1", revision: "1~Resolved" }]);
    const beat = (await services.heartbeats.list()).find((h) => h.component === "sweeper");
    expect(beat).toMatchObject({ expectedEverySeconds: 300, details: "re-enqueued 1" });
  });
});

describe("GET /api/health", () => {
  it("reports storage reachable and component heartbeats, flagging stale timers", async () => {
    await sweeper(scheduledTimer, context(), services);
    let report = bodyJson(await health(getRequest("http://localhost/api/health"), context(), services));
    expect(report).toMatchObject({ status: "ok", storage: { tables: true, queues: true }, stale: [] });
    clock.advance(11 * 60_000); // two missed 5-minute beats
    report = bodyJson(await health(getRequest("http://localhost/api/health"), context(), services));
    expect(report).toMatchObject({ status: "degraded", stale: ["sweeper"] });
  });

  it("answers 503 when table storage is unreachable", async () => {
    await azurite.stopService("table");
    const response = await health(getRequest("http://localhost/api/health"), context(), services);
    expect(response.status).toBe(503);
    expect(bodyJson(response)).toMatchObject({ status: "unavailable", storage: { tables: false } });
    await azurite.startService("table");
  });
});
