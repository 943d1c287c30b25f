import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { emptyAccount } from "../support/azurite.js";
import { noticeWebhook } from "../../functions/noticeWebhook.js";
import { noticeSubmit } from "../../functions/noticeSubmit.js";
import { noticeProcess } from "../../functions/noticeProcess.js";
import type { Services } from "../../shared/runtime.js";
import { TABLES } from "../../shared/adapters/tables.js";
import { commonAlert, fixtureJson, fixtureText } from "../support/fixtures.js";
import { bodyJson, context, expectProblem, header, jsonRequest } from "../support/http.js";
import { countEntities, peekAll, queue, table, testServices, type CapturedLog } from "../support/storage.js";
import { decodeDocument } from "../../shared/adapters/entityCodec.js";
import { compositeKey, escapeKey } from "../../shared/domain/tableKey.js";

const WEBHOOK = "http://localhost/api/notices/azure-monitor";
const MANUAL = "http://localhost/api/notices";
let azurite: EmbeddedAzurite;
let services: Services;
let log: CapturedLog;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite);
  ({ services, log } = testServices(azurite));
});

/** Revision rows stored (the Notices table also holds one summary row per notice). */
async function revisionCount(): Promise<number> {
  let n = 0;
  for await (const e of table(azurite, TABLES.notices).listEntities<{ kind?: string }>()) if (e.kind === "revision") n++;
  return n;
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  return noticeWebhook(jsonRequest(WEBHOOK, body, headers), context("noticeWebhook"), services);
}

describe("POST /api/notices/azure-monitor with the real samples", () => {
  it.each([
    ["azure-monitor-common-schema-servicehealth-testaction.json", "ABC1-DEF", "11223344556677~Resolved"],
    ["azure-activitylog-webhook-servicehealth-legacy-schema.json", "0NIH-U2O", "636439673646212912~Active"],
  ])("%s → 202, stored, enqueued", async (file, id, revision) => {
    const response = await noticeWebhook(jsonRequest(WEBHOOK, fixtureText("microsoft-docs", file)), context(), services);
    expect(response.status).toBe(202);
    expect(bodyJson(response)).toEqual({ noticeKey: `azure-monitor~${id}`, revision, duplicate: false });
    const stored = await services.notices.getRevision("azure-monitor", id, revision);
    expect(stored?.notice.id).toBe(id);
    const record = await services.notices.getNotice("azure-monitor", id);
    expect(record?.state).toBe("pending");
    expect(record?.lastRevision).toBe(revision);
    expect(await peekAll(azurite, "notices")).toEqual([{ v: 1, kind: "notice-revision", source: "azure-monitor", id, revision }]);
  });

  it("keeps the raw payload with the revision, so what Microsoft sent can be shown later", async () => {
    const raw = fixtureText("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json");
    await post(raw);
    const row = await table(azurite, TABLES.notices).getEntity(
      compositeKey("azure-monitor", "0NIH-U2O"),
      `r~${escapeKey("636439673646212912~Active")}`,
    );
    expect(decodeDocument("raw", row)).toBe(raw);
  });
});

describe("repeated and out-of-order deliveries", () => {
  it("answers a repeated delivery with duplicate: true and stores nothing new; once processed, enqueues nothing either", async () => {
    const alert = commonAlert({ trackingId: "RPT-1", communicationId: "1" });
    expect(bodyJson(await post(alert)).duplicate).toBe(false);
    // Not processed yet: the first enqueue may have been lost, so a repeat enqueues again (processing is idempotent).
    expect(bodyJson(await post(alert)).duplicate).toBe(true);
    expect(await peekAll(azurite, "notices")).toHaveLength(2);
    const [message] = await peekAll(azurite, "notices");
    await noticeProcess(message, context(), services);
    await queue(azurite, "notices").clearMessages();
    for (let i = 0; i < 3; i++) {
      const again = await post(alert);
      expect(again.status).toBe(202);
      expect(bodyJson(again).duplicate).toBe(true);
    }
    expect(await revisionCount()).toBe(1);
    expect(await peekAll(azurite, "notices")).toEqual([]);
  });

  it("keeps the newest revision as the notice's latest whatever the arrival order", async () => {
    const active = commonAlert({ trackingId: "ORD-1", communicationId: "100", stage: "Active", eventTimestamp: "2024-09-05T10:00:00Z" });
    const resolved = commonAlert({ trackingId: "ORD-1", communicationId: "200", stage: "Resolved", eventTimestamp: "2024-09-20T10:00:00Z" });
    await post(resolved);
    await post(active);
    expect(await revisionCount()).toBe(2);
    for (const message of await peekAll(azurite, "notices")) await noticeProcess(message, context(), services);
    const record = await services.notices.getNotice("azure-monitor", "ORD-1");
    expect(record?.latest?.revision).toBe("200~Resolved");
    expect(record?.state).toBe("processed");
  });

  it("stores ids full of / # ? \\ and unicode under escaped keys and reads them back", async () => {
    const id = "TRK/1#2?3\\4 – Überwachung ✓";
    const response = await post(commonAlert({ trackingId: id, communicationId: "c/1?#" }));
    expect(response.status).toBe(202);
    expect(bodyJson(response)).toMatchObject({ noticeKey: `azure-monitor~${id}`, revision: "c/1?#~Resolved" });
    expect((await services.notices.getNotice("azure-monitor", id))?.id).toBe(id);
    expect((await services.notices.getRevision("azure-monitor", id, "c/1?#~Resolved"))?.notice.revision).toBe("c/1?#~Resolved");
  });
});

describe("bad input is refused with problem+json and changes nothing", () => {
  it("refuses a body that is not JSON (400)", async () => {
    const p = expectProblem(await post("{not json"), 400);
    expect(p.errors?.[0]).toMatch(/^\(body\): /);
  });

  it("refuses a wrong content type (415)", async () => {
    expectProblem(await post(commonAlert(), { "content-type": "text/plain" }), 415);
  });

  it("refuses bodies over 256 KiB (413), declared or not", async () => {
    const big = { ...commonAlert(), padding: "x".repeat(300 * 1024) };
    expectProblem(await post(big), 413);
  });

  it("refuses an unknown schemaId (400), naming the field", async () => {
    const p = expectProblem(await post({ schemaId: "AzureMonitorMetricAlert", data: {} }), 400);
    expect(p.errors?.[0]).toMatch(/^schemaId: /);
  });

  it("lists each missing and mistyped field (400)", async () => {
    const alert = commonAlert() as { data: { alertContext: { properties: Record<string, unknown> } } };
    delete alert.data.alertContext.properties.communicationId;
    alert.data.alertContext.properties.trackingId = 12;
    const p = expectProblem(await post(alert), 400);
    expect(p.errors).toEqual(expect.arrayContaining([
      expect.stringMatching(/^data\.alertContext\.properties\.communicationId: /),
      expect.stringMatching(/^data\.alertContext\.properties\.trackingId: /),
    ]));
  });

  it("refuses an empty body and invalid UTF-8", async () => {
    expectProblem(await post(""), 400);
    const { HttpRequest } = (await import("@azure/functions")).default;
    const bad = new HttpRequest({ method: "POST", url: WEBHOOK, headers: { "content-type": "application/json" }, body: { bytes: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) } });
    const p = expectProblem(await noticeWebhook(bad, context(), services), 400);
    expect(p.errors).toEqual(["(body): not valid UTF-8"]);
  });
});

describe("POST /api/notices (manual)", () => {
  it("records a PIR pasted by an operator", async () => {
    const body = fixtureJson("notices", "manual-sept-2024-pir.json");
    const response = await noticeSubmit(jsonRequest(MANUAL, body), context("noticeSubmit"), services);
    expect(response.status).toBe(202);
    const { noticeKey } = bodyJson(response) as { noticeKey: string };
    expect(noticeKey).toMatch(/^manual~/);
    expect(await peekAll(azurite, "notices")).toHaveLength(1);
  });

  it("refuses an invalid manual notice, listing every problem, and stores nothing", async () => {
    const response = await noticeSubmit(jsonRequest(MANUAL, { title: "", tenants: ["x"], extra: 1 }), context(), services);
    const p = expectProblem(response, 400);
    expect(p.errors?.length).toBeGreaterThanOrEqual(3);
    expect(await countEntities(azurite, TABLES.notices)).toBe(0);
    expect(await peekAll(azurite, "notices")).toEqual([]);
  });
});

describe("storage failures answer 503 with Retry-After and lose nothing", () => {
  it("table storage down: 503, nothing enqueued; after recovery the retry is recorded", async () => {
    await azurite.stopService("table");
    const alert = commonAlert({ trackingId: "DOWN-1", communicationId: "1" });
    const response = await post(alert);
    const p = expectProblem(response, 503);
    expect(p.title).toMatch(/unavailable/i);
    expect(header(response, "retry-after")).toBe("30");
    expect(await peekAll(azurite, "notices")).toEqual([]);
    await azurite.startService("table");
    const retry = await post(alert);
    expect(retry.status).toBe(202);
    expect(bodyJson(retry).duplicate).toBe(false);
    expect(await peekAll(azurite, "notices")).toHaveLength(1);
  });

  it("queue down after the table write: 503; the retry completes the notice exactly once", async () => {
    const alert = commonAlert({ trackingId: "QDOWN-1", communicationId: "1" });
    await azurite.stopService("queue");
    expectProblem(await post(alert), 503);
    expect(await services.notices.getRevision("azure-monitor", "QDOWN-1", "1~Resolved")).toBeDefined();
    expect((await services.notices.getNotice("azure-monitor", "QDOWN-1"))?.state).toBe("pending");
    await azurite.startService("queue");
    const retry = await post(alert);
    expect(retry.status).toBe(202);
    expect(bodyJson(retry)).toMatchObject({ duplicate: true });
    const messages = await peekAll(azurite, "notices");
    expect(messages).toEqual([{ v: 1, kind: "notice-revision", source: "azure-monitor", id: "QDOWN-1", revision: "1~Resolved" }]);
    await noticeProcess(messages[0], context(), services);
    expect((await services.notices.getNotice("azure-monitor", "QDOWN-1"))?.state).toBe("processed");
    expect(await revisionCount()).toBe(1);
  });

  it("never answers 500 and never logs the storage key", async () => {
    await azurite.stopService("table");
    await azurite.stopService("queue");
    const response = await post(commonAlert({ trackingId: "DOWN-2" }));
    expect(response.status).toBe(503);
    expect(log.lines.join("\n")).not.toContain("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq");
    await azurite.startService("table");
    await azurite.startService("queue");
  });
});

describe("nothing is stored for refused input", () => {
  it.each([
    ["not JSON", "{"],
    ["unknown schema", { schemaId: "x" }],
    ["missing ids", { schemaId: "azureMonitorCommonAlertSchema", data: { essentials: { monitoringService: "ServiceHealth" }, alertContext: { properties: {} } } }],
  ])("%s", async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(await countEntities(azurite, TABLES.notices)).toBe(0);
    expect(await queue(azurite, "notices").exists()).toBe(false);
  });
});
