import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedStack, type EmbeddedStack } from "../../local/embeddedStack.js";
import { loadSettings } from "../../shared/config.js";
import { createServices, type Services } from "../../shared/runtime.js";
import { commonAlert } from "../support/fixtures.js";
import { context } from "../support/http.js";
import { noticeProcess } from "../../functions/noticeProcess.js";

const dir = mkdtempSync(path.join(tmpdir(), "bw-restart-"));
let stack: EmbeddedStack;
let services: Services;

beforeAll(async () => {
  // Azurite on disk, so what was stored before the outage is still there after it.
  stack = await startEmbeddedStack({ azurite: { location: dir } });
  services = createServices(loadSettings({ AzureWebJobsStorage: stack.connectionString }));
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

const SENDERS = 6;
const PER_SENDER = 15;

describe("storage stopped and restarted while senders deliver notices", () => {
  it("answers only 202 or 503 (never 500), every retry completes, and every acknowledged notice is stored and processed", { timeout: 120_000 }, async () => {
    const statuses = new Map<number, number>();
    const acknowledged: string[] = [];
    const send = async (id: string): Promise<void> => {
      const body = JSON.stringify(commonAlert({ trackingId: id, communicationId: "1" }));
      for (let attempt = 0; attempt < 200; attempt++) {
        const response = await fetch(`${stack.host.url}/api/notices/azure-monitor`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-functions-key": stack.functionKey },
          body,
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        await response.arrayBuffer();
        if (response.status === 202) {
          acknowledged.push(id);
          return;
        }
        expect(response.status).toBe(503);
        expect(response.headers.get("retry-after")).not.toBeNull();
        await new Promise((r) => setTimeout(r, 50)); // an action group waits longer; the semantics are the same
      }
      throw new Error(`${id} was never acknowledged`);
    };
    const senders = Array.from({ length: SENDERS }, async (_, s) => {
      for (let i = 0; i < PER_SENDER; i++) await send(`RESTART-${s}-${i}`);
    });
    // The outage: both services go away for a while in the middle of the load, then come back.
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 150));
      await stack.azurite.stopService("table");
      await stack.azurite.stopService("queue");
      await new Promise((r) => setTimeout(r, 600));
      await stack.azurite.startService("table");
      await stack.azurite.startService("queue");
    })();
    await Promise.all([...senders, outage]);

    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([202]));
    expect([...statuses.keys()].every((s) => s === 202 || s === 503)).toBe(true);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0); // the outage was really hit
    expect(acknowledged).toHaveLength(SENDERS * PER_SENDER);
    // Never a 202 for something not stored: every acknowledged notice is there, with its revision.
    for (const id of acknowledged) {
      expect(await services.notices.getRevision("azure-monitor", id, "1~Resolved"), id).toBeDefined();
    }
    // Processing: a message whose handler failed during the outage stays invisible for the visibility timeout (as
    // in Azure) before it is retried, so give the queue a while, then deliver what is still pending the way that
    // retry will, and check everything ends processed.
    await stack.host.idle(10_000).catch(() => undefined);
    for (const id of acknowledged) {
      const record = await services.notices.getNotice("azure-monitor", id);
      if (record?.state === "pending") {
        await noticeProcess({ v: 1, kind: "notice-revision", source: "azure-monitor", id, revision: record.lastRevision }, context(), services);
      }
      expect((await services.notices.getNotice("azure-monitor", id))?.state, id).toBe("processed");
    }
  });
});
