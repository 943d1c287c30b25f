import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tenantProfile, scheduledTimer } from "../support/builders.js";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { emptyAccount } from "../support/azurite.js";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import type { ServiceHealthIssue } from "../../local/graphSimulator/records.js";
import { serviceHealthPoll } from "../../functions/serviceHealthPoll.js";
import { health } from "../../functions/health.js";
import { createGraphClientFactory } from "../../shared/adapters/graph/graphClientFactory.js";
import { GraphServiceHealthSource } from "../../shared/adapters/graph/graphServiceHealthSource.js";
import { pollServiceHealth, type PollServiceHealthResult } from "../../shared/app/pollServiceHealth.js";
import { loadSettings } from "../../shared/config.js";
import type { Services } from "../../shared/runtime.js";
import { bodyJson, context, getRequest } from "../support/http.js";
import { ManualClock, peekAll, queue, table, testServices } from "../support/storage.js";
import { noticeProcess } from "../../functions/noticeProcess.js";

const NOW = "2024-09-20T12:00:00Z";
const UNKNOWN_TENANT = "0f0f0f0f-0000-4000-8000-000000000403"; // registered with us, unknown to Graph: 403



function issue(n: number, lastModified: string, resolved = true): ServiceHealthIssue {
  return {
    startDateTime: "2024-09-10T00:00:00Z",
    endDateTime: resolved ? "2024-09-11T00:00:00Z" : null,
    lastModifiedDateTime: lastModified,
    title: `Issue ${String(n)}: some sign-in logs may be missing`,
    id: `MO${String(900_000 + n)}`,
    impactDescription: "Some sign-in logs for Microsoft Entra ID may not have been recorded.",
    classification: "incident",
    origin: "microsoft",
    status: resolved ? "serviceRestored" : "investigating",
    service: "Microsoft Entra",
    feature: "Sign-in logs",
    featureGroup: "Reporting",
    isResolved: resolved,
    details: [],
    posts: [{ createdDateTime: "2024-09-10T01:00:00Z", postType: "regular", description: { contentType: "Html", content: `Update ${String(n)}` } }],
  };
}

/** Stored m365 revisions of these issues (through the store's port, whatever its tables look like). */
async function revisionCount(services: Services, issueIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of issueIds) for await (const _ of services.notices.listRevisions("m365", id)) n++;
  return n;
}

const total = (result: PollServiceHealthResult, key: "stored" | "duplicates" | "issues") => result.tenants.reduce((n, t) => n + t[key], 0);

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite);
});

describe("serviceHealthPoll (scheduledTimer) against Azurite and the Graph simulator", () => {
  let sim: GraphSimulator;
  let services: Services;
  let clock: ManualClock;
  let tenantIds: string[];
  beforeAll(async () => {
    sim = await startGraphSimulator({ seed: 4, now: NOW, days: 2, tenants: [{ displayName: "Contoso", users: 3 }, { displayName: "Fabrikam", users: 3 }] });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    clock = new ManualClock(new Date(NOW));
    ({ services } = testServices(azurite, { BLINDWINDOW_GRAPH_BASE_URL: sim.url }, clock));
    tenantIds = sim.tenants.map((t) => t.id);
    await services.tenants.putMany([...tenantIds.map((id, i) => tenantProfile(id, `T${String(i)}`)), tenantProfile(UNKNOWN_TENANT, "Gone")], clock.now());
  });

  it("records every issue as an m365 notice per tenant via recordNotice, and one tenant's 403 stops no other", async () => {
    const issues = sim.dataset.serviceIssues();
    const result = await serviceHealthPoll(scheduledTimer, context("serviceHealthPoll"), services);
    expect(result.configured).toBe(true);
    const byTenant = new Map(result.tenants.map((t) => [t.tenantId, t]));
    for (const id of tenantIds) expect(byTenant.get(id)).toMatchObject({ outcome: "polled", issues: issues.length, stored: issues.length, duplicates: 0 });
    expect(byTenant.get(UNKNOWN_TENANT)).toMatchObject({ outcome: "failed", error: { code: "graph-forbidden" } });

    for (const i of issues) {
      expect(await services.notices.getNotice("m365", i.id)).toBeDefined();
      const revisions: string[][] = [];
      for await (const r of services.notices.listRevisions("m365", i.id)) {
        expect(r.notice).toMatchObject({ source: "m365", id: i.id, title: i.title });
        revisions.push(r.notice.tenantIds);
      }
      expect(revisions.flat().sort()).toEqual([...tenantIds].sort()); // each tenant's sighting is its own revision
    }
    const messages = await peekAll(azurite, "notices");
    expect(messages).toHaveLength(issues.length * tenantIds.length);

    // The failure is on the tenant and in /api/health; the others show a success.
    const report = bodyJson(await health(getRequest("http://localhost/api/health"), context(), services));
    const graph = report.graph as { tenants: { tenantId: string; failures: number; lastSuccess?: string; lastError?: { code: string } }[] };
    expect(graph.tenants.find((t) => t.tenantId === UNKNOWN_TENANT)).toMatchObject({ failures: 1, lastError: { code: "graph-forbidden" } });
    for (const id of tenantIds) expect(graph.tenants.find((t) => t.tenantId === id)).toMatchObject({ failures: 0, lastSuccess: NOW.replace("Z", ".000Z") });
    expect((report.components as { component: string; details?: string }[]).find((c) => c.component === "serviceHealthPoll")?.details)
      .toBe("tenants 3, polled 2, failed 1, skipped 0, stored 6");
    // No token or secret in the log.
    expect(sim.requests.every((r) => !JSON.stringify(r).includes("Bearer"))).toBe(true);
  });

  it("is idempotent across repeated runs and watermark loss: re-reads, stores nothing new", async () => {
    const first = await serviceHealthPoll(scheduledTimer, context(), services);
    const issueIds = sim.dataset.serviceIssues().map((i) => i.id);
    const revisions = await revisionCount(services, issueIds);
    expect(total(first, "stored")).toBe(revisions);
    // The worker processes what was enqueued; afterwards a repeated poll must not enqueue anything again.
    const notices = queue(azurite, "notices");
    for (;;) {
      const { receivedMessageItems } = await notices.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) break;
      for (const m of receivedMessageItems) {
        await noticeProcess(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")), context(), services);
        await notices.deleteMessage(m.messageId, m.popReceipt);
      }
    }
    const messages = 0;

    clock.advance(5 * 60_000);
    const before = sim.requests.length;
    const second = await serviceHealthPoll(scheduledTimer, context(), services);
    expect(total(second, "stored")).toBe(0);
    // With a watermark: the modified-since query (nothing new but the overlap) and the unresolved one, per tenant.
    const paths = sim.requests.slice(before).filter((r) => r.tenantId === tenantIds[0]).map((r) => decodeURIComponent(r.path));
    expect(paths).toHaveLength(2);
    expect(paths[0]).toContain("$filter=lastModifiedDateTime ge ");
    expect(paths[1]).toContain("$filter=isResolved eq false");
    expect(paths[0]).toContain("$select=id,title,service");
    expect(total(second, "issues")).toBeGreaterThan(0); // the unresolved issue, every time

    // Watermarks lost (a table restored from an old backup): everything is read again, nothing stored again.
    const cursors = table(azurite, "Cursors");
    for (const id of tenantIds) await cursors.deleteEntity("m365-watermark", id);
    const third = await serviceHealthPoll(scheduledTimer, context(), services);
    expect(total(third, "stored")).toBe(0);
    expect(total(third, "duplicates")).toBe(total(first, "stored"));
    expect(await revisionCount(services, issueIds)).toBe(revisions);
    expect((await peekAll(azurite, "notices")).length).toBe(messages);
    for (const id of tenantIds) expect(await services.watermarks.getWatermark(id)).toBe(first.tenants.find((t) => t.tenantId === id)?.watermark);
  });

  it("skips a tenant another instance holds the lease of", async () => {
    const tenant = tenantIds[0] ?? "";
    const { TableTenantLeases } = await import("../../shared/adapters/graph/tenantLease.js");
    const other = new TableTenantLeases(services.account, clock, "other-instance");
    expect(await other.acquire(tenant, 4 * 60_000)).toBeDefined();
    const result = await serviceHealthPoll(scheduledTimer, context(), services);
    expect(result.tenants.find((t) => t.tenantId === tenant)).toMatchObject({ outcome: "skipped", stored: 0 });
    expect(result.tenants.find((t) => t.tenantId === tenantIds[1])).toMatchObject({ outcome: "polled" });
  });

  it("without Graph settings logs 'Graph not configured' and still beats its heartbeat", async () => {
    const { services: bare, log } = testServices(azurite, {}, clock);
    expect(bare.graph).toBeUndefined();
    const result = await serviceHealthPoll(scheduledTimer, context(), bare);
    expect(result).toEqual({ configured: false, tenants: [] });
    expect(log.lines.some((l) => l.includes("Graph not configured"))).toBe(true);
    const beat = (await bare.heartbeats.list()).find((h) => h.component === "serviceHealthPoll");
    expect(beat).toMatchObject({ expectedEverySeconds: 300, details: "Graph not configured (BLINDWINDOW_GRAPH_CLIENT_ID is not set)" });
  });
});

describe("serviceHealthPoll with many issues and Graph's limits on", () => {
  it("stays within 240 requests per minute per tenant (scaled), without a single 429, then reads only what changed", async () => {
    const timeScale = 60; // 240 per 1 s and 800 per 60 s
    const issues = Array.from({ length: 300 }, (_, n) => issue(n, new Date(Date.parse("2024-09-19T00:00:00Z") + n * 60_000).toISOString(), n % 50 !== 0));
    const sim = await startGraphSimulator({ seed: 9, now: NOW, days: 1, timeScale, serviceIssues: issues, tenants: [{ displayName: "Contoso", users: 2 }] });
    try {
      const clock = new ManualClock(new Date(NOW));
      const settings = { BLINDWINDOW_GRAPH_BASE_URL: sim.url };
      const { services } = testServices(azurite, settings, clock);
      const tenant = sim.tenants[0]?.id ?? "";
      await services.tenants.putMany([tenantProfile(tenant, "Contoso")], clock.now());
      const graph = createGraphClientFactory(loadSettings(settings), { timeScale });
      // One issue per page: 300 pages for a first run, more than one (scaled) minute's budget.
      const deps = { ...services, logger: services.logger ?? (await import("../../shared/adapters/logger.js")).silentLogger, serviceHealth: new GraphServiceHealthSource(graph, 1) };
      const first = await pollServiceHealth(deps);
      expect(first.tenants[0]).toMatchObject({ outcome: "polled", stored: 300 });

      const log = sim.requests.filter((r) => r.tenantId === tenant);
      expect(log.filter((r) => r.status === 429)).toEqual([]);
      expect(log.length).toBeGreaterThanOrEqual(300);
      const times = log.map((r) => Date.parse(r.time));
      const windowMs = 60_000 / timeScale;
      for (let i = 240; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 240] ?? 0)).toBeGreaterThanOrEqual(windowMs - 2);
      expect(graph.budget.stats().waits).toBeGreaterThan(0);

      // A new post on one issue: only that revision is new.
      const changed = issues[42];
      if (changed) {
        changed.lastModifiedDateTime = "2024-09-20T11:00:00Z";
        changed.posts.push({ createdDateTime: "2024-09-20T11:00:00Z", postType: "regular", description: { contentType: "Html", content: "Another update" } });
      }
      const second = await pollServiceHealth(deps);
      expect(second.tenants[0]).toMatchObject({ outcome: "polled", stored: 1, watermark: "2024-09-20T11:00:00.000Z" });
    } finally {
      await sim.close();
    }
  });
});
