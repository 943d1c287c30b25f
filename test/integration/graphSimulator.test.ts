import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphError, PageIterator, type PageCollection } from "@microsoft/microsoft-graph-client";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { simulatorGraphClient } from "../../local/graphSimulator/simulatorGraphClient.js";
import { simulatorCredential, simulatorToken } from "../../local/graphSimulator/simulatorToken.js";
import { DAY_MS, HOUR_MS } from "../../local/graphSimulator/dataGenerator.js";
import type { SignIn } from "../../local/graphSimulator/records.js";

const NOW = "2024-09-20T12:00:00Z";
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/microsoft-docs/${name}`, import.meta.url), "utf8")) as Record<string, unknown>;

let sim: GraphSimulator;
let p2: string;
let free: string;

beforeAll(async () => {
  sim = await startGraphSimulator({
    seed: 11,
    now: NOW,
    days: 10,
    throttling: false,
    tenants: [
      { displayName: "Contoso", licence: "p2", users: 6 },
      { displayName: "Fabrikam", licence: "free", users: 4 },
    ],
  });
  p2 = sim.tenants[0]?.id ?? "";
  free = sim.tenants[1]?.id ?? "";
});
afterAll(async () => {
  await sim.close();
});

/** Follows every nextLink with the Graph client's PageIterator. */
async function readAll<T>(tenantId: string, path: string, _shape?: T): Promise<{ items: T[]; pages: number }> {
  const client = simulatorGraphClient(sim.url, tenantId);
  const first = (await client.api(path).get()) as PageCollection;
  const items: T[] = [];
  let pages = 1;
  const iterator = new PageIterator(client, first, (item: T) => {
    items.push(item);
    return true;
  });
  const before = sim.requests.length;
  await iterator.iterate();
  pages += sim.requests.length - before;
  return { items, pages };
}

/** What the filter should return, straight from the dataset. */
function expectedSignIns(tenantId: string, fromMs: number, toMs: number, keep: (s: SignIn) => boolean): string[] {
  const ids: string[] = [];
  for (let h = Math.floor(toMs / HOUR_MS); h >= Math.floor(fromMs / HOUR_MS); h--) {
    for (const { t, r } of sim.dataset.signInsInHour(tenantId, h)) if (t >= fromMs && t <= toMs && keep(r)) ids.push(r.id);
  }
  return ids;
}

async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphError) return error;
    throw error;
  }
  throw new Error("expected a GraphError");
}

describe("Graph simulator: sign-ins through the real Graph client", () => {
  it("pages a filter range newest first, exactly the records in range, no duplicates", async () => {
    const from = "2024-09-18T06:00:00Z";
    const to = "2024-09-19T18:00:00Z";
    const { items, pages } = await readAll<SignIn>(p2, `/auditLogs/signIns?$filter=createdDateTime ge ${from} and createdDateTime lt ${to}&$top=10`);
    const expected = expectedSignIns(p2, Date.parse(from), Date.parse(to) - 1, (s) => s.signInEventTypes.includes("interactiveUser"));
    expect(expected.length).toBeGreaterThan(30);
    expect(pages).toBe(Math.ceil(expected.length / 10));
    expect(items.map((s) => s.id)).toEqual(expected);
    expect(new Set(items.map((s) => s.id)).size).toBe(items.length);
    const times = items.map((s) => Date.parse(s.createdDateTime));
    expect(times.every((t, i) => i === 0 || t <= (times[i - 1] ?? Infinity))).toBe(true);
    expect(times.every((t) => t >= Date.parse(from) && t < Date.parse(to))).toBe(true);
    // v1.0 returns interactive sign-ins only, without beta-only fields.
    expect(items.every((s) => s.isInteractive && !("signInEventTypes" in s))).toBe(true);
  });

  it("returns nextLinks on https://graph.microsoft.com with $skiptoken, like the documented sample", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const page = (await client.api("/auditLogs/signIns").top(1).get()) as { "@odata.nextLink": string; "@odata.context": string };
    const sample = readFileSync(new URL("../fixtures/microsoft-docs/graph-signin-list-v1-example1-response.VERBATIM-INVALID-JSON.txt", import.meta.url), "utf8");
    const sampleNext = /"@odata.nextLink": "([^"]+)"/.exec(sample)?.[1] ?? "";
    expect(page["@odata.nextLink"].slice(0, sampleNext.indexOf("$skiptoken="))).toBe(sampleNext.slice(0, sampleNext.indexOf("$skiptoken=")));
    expect(page["@odata.context"]).toBe("https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns");
  });

  it("cuts off data outside the tenant's retention: Free 7 days, P2 30 days", async () => {
    const oldest = async (tenantId: string) => {
      const { items } = await readAll<SignIn>(tenantId, "/auditLogs/signIns?$select=id,createdDateTime");
      return Date.parse(items.at(-1)?.createdDateTime ?? "");
    };
    const now = Date.parse(NOW);
    const freeOldest = await oldest(free);
    expect(freeOldest).toBeGreaterThanOrEqual(now - 7 * DAY_MS);
    expect(freeOldest).toBeLessThan(now - 7 * DAY_MS + 6 * HOUR_MS);
    const p2Oldest = await oldest(p2);
    // P2 keeps 30 days; this tenant has 10 days of data, so all of it is served.
    expect(p2Oldest).toBeLessThan(now - 9 * DAY_MS);

    // Moving the clock moves the cut-off: a filter on a day now past retention returns nothing.
    const client = simulatorGraphClient(sim.url, free);
    const query = "createdDateTime ge 2024-09-14T00:00:00Z and createdDateTime lt 2024-09-15T00:00:00Z";
    const before = (await client.api("/auditLogs/signIns").filter(query).get()) as { value: SignIn[] };
    expect(before.value.length).toBeGreaterThan(0);
    sim.setNow("2024-09-23T00:00:00Z");
    try {
      const after = (await client.api("/auditLogs/signIns").filter(query).get()) as { value: SignIn[] };
      expect(after.value).toEqual([]);
    } finally {
      sim.setNow(NOW);
    }
  });

  it("serves non-interactive sign-ins on beta with signInEventTypes, and $select trims fields", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const page = (await client
      .api("/auditLogs/signIns")
      .version("beta")
      .filter("signInEventTypes/any(t: t eq 'nonInteractiveUser') and createdDateTime ge 2024-09-19T00:00:00Z")
      .select("id,createdDateTime,signInEventTypes,userPrincipalName")
      .top(200)
      .get()) as { value: Record<string, unknown>[]; "@odata.context": string };
    expect(page.value.length).toBeGreaterThan(20);
    for (const item of page.value) {
      expect(Object.keys(item).sort()).toEqual(["createdDateTime", "id", "signInEventTypes", "userPrincipalName"]);
      expect(item.signInEventTypes).toEqual(["nonInteractiveUser"]);
    }
    expect(page["@odata.context"]).toBe("https://graph.microsoft.com/beta/$metadata#auditLogs/signIns(id,createdDateTime,signInEventTypes,userPrincipalName)");
    // Without the filter, beta lists interactive sign-ins only.
    const plain = (await client.api("/auditLogs/signIns").version("beta").top(100).get()) as { value: SignIn[] };
    expect(plain.value.every((s) => s.signInEventTypes.includes("interactiveUser"))).toBe(true);
  });

  it("answers bad OData with 400 and a Graph error body", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const bad = await graphError(client.api("/auditLogs/signIns").filter("createdDateTime ge '2024-09-19'").get());
    expect(bad.statusCode).toBe(400);
    expect(bad.code).toBe("BadRequest");
    expect(bad.message).toMatch(/^Invalid filter clause/);
    const select = await graphError(client.api("/auditLogs/signIns").select("id,password").get());
    expect([select.statusCode, select.message]).toEqual([400, "Could not find a property named 'password' on type 'microsoft.graph.signIn'."]);
    const top = await graphError(client.api("/auditLogs/signIns").top(1001).get());
    expect(top.statusCode).toBe(400);
    const v1Types = await graphError(client.api("/auditLogs/signIns").filter("signInEventTypes/any(t: t eq 'nonInteractiveUser')").get());
    expect(v1Types.statusCode).toBe(400);
  });

  it("refuses a request without a bearer token (401) and an unknown tenant (403)", async () => {
    const anonymous = await fetch(`${sim.url}/v1.0/auditLogs/signIns`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: "InvalidAuthenticationToken" } });
    const garbage = await fetch(`${sim.url}/v1.0/auditLogs/signIns`, { headers: { authorization: "Bearer not-a-jwt" } });
    expect(garbage.status).toBe(401);

    const stranger = "00000000-1111-2222-3333-444444444444";
    const client = simulatorGraphClient(sim.url, stranger, { credential: simulatorCredential(stranger) });
    const denied = await graphError(client.api("/auditLogs/signIns").get());
    expect([denied.statusCode, denied.code]).toEqual([403, "Authorization_RequestDenied"]);
  });
});

describe("Graph simulator: audits, risk detections, service health", () => {
  it("serves directory audits by activityDateTime, including the planted ones", async () => {
    const planted = sim.groundTruth.filter((a) => a.tenantId === p2 && a.auditIds.length > 0);
    expect(planted.length).toBe(3);
    const { items } = await readAll<{ id: string; activityDateTime: string; activityDisplayName: string }>(p2, "/auditLogs/directoryAudits?$top=10");
    const ids = new Set(items.map((a) => a.id));
    for (const attack of planted) for (const id of attack.auditIds) expect(ids.has(id)).toBe(true);
    expect(items.map((a) => a.activityDisplayName)).toContain("Add member to role");
    const times = items.map((a) => Date.parse(a.activityDateTime));
    expect(times.every((t, i) => i === 0 || t <= (times[i - 1] ?? Infinity))).toBe(true);

    const client = simulatorGraphClient(sim.url, p2);
    const role = (await client.api("/auditLogs/directoryAudits").filter("activityDisplayName eq 'Add member to role'").get()) as { value: unknown[] };
    expect(role.value).toHaveLength(1);
  });

  it("serves risk detections filtered on detectedDateTime", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const page = (await client.api("/identityProtection/riskDetections").filter("riskEventType eq 'anonymizedIPAddress'").get()) as { value: { id: string; "@odata.type": string }[] };
    const planted = sim.groundTruth.find((a) => a.tenantId === p2 && a.kind === "riskySignIn");
    expect(page.value.map((r) => r.id)).toEqual(planted?.riskDetectionIds);
    const sample = (fixture("graph-riskdetection-list-v1-response.json").value as Record<string, unknown>[])[0] ?? {};
    expect(page.value[0]?.["@odata.type"]).toBe(sample["@odata.type"]);
    expect(Object.keys(page.value[0] ?? {}).sort()).toEqual(Object.keys(sample).sort());
  });

  it("pages service announcement issues with $skip nextLinks and filters lastModifiedDateTime", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const first = (await client.api("/admin/serviceAnnouncement/issues").top(2).get()) as { value: { id: string }[]; "@odata.nextLink": string };
    expect(first.value).toHaveLength(2);
    expect(first["@odata.nextLink"]).toBe("https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/issues?$top=2&$skip=2");
    const second = (await client.api(first["@odata.nextLink"]).get()) as { value: { id: string }[]; "@odata.nextLink"?: string };
    expect(second.value).toHaveLength(1);
    expect(second["@odata.nextLink"]).toBeUndefined();
    const recent = (await client.api("/admin/serviceAnnouncement/issues").filter("lastModifiedDateTime ge 2024-09-19T00:00:00Z").get()) as { value: { lastModifiedDateTime: string }[] };
    expect(recent.value.length).toBe(1);
    // Same property names as the documented sample.
    const sampleKeys = Object.keys((fixture("graph-serviceannouncement-issues-list-v1-response.json").value as Record<string, unknown>[])[0] ?? {}).sort();
    const full = (await client.api("/admin/serviceAnnouncement/issues").get()) as { value: Record<string, unknown>[] };
    expect(Object.keys(full.value[0] ?? {}).sort()).toEqual(sampleKeys);
  });
});

describe("Graph simulator: mail, Planner and Teams Workflows", () => {
  it("accepts sendMail with 202 and records it", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const body = fixture("graph-sendmail-v1-example1-request.json");
    await client.api("/users/secops@contoso.onmicrosoft.com/sendMail").post(body);
    const mail = sim.sent.mails.at(-1);
    expect(mail).toMatchObject({ tenantId: p2, sender: "secops@contoso.onmicrosoft.com", saveToSentItems: "false", message: { subject: "Meet for lunch?" } });
    expect(sim.requests.at(-1)).toMatchObject({ method: "POST", status: 202, tenantId: p2 });
    const invalid = await graphError(client.api("/users/x/sendMail").post({ message: { subject: "no recipients" } }));
    expect(invalid.statusCode).toBe(400);
  });

  it("creates Planner tasks (201, @odata.etag) and enforces If-Match on details", async () => {
    const client = simulatorGraphClient(sim.url, p2);
    const task = (await client.api("/planner/tasks").post(fixture("graph-planner-create-task-v1-request.json"))) as Record<string, unknown>;
    expect(sim.requests.at(-1)?.status).toBe(201);
    expect(task.id).toMatch(/^[A-Za-z0-9_-]{28}$/);
    expect(task["@odata.etag"]).toMatch(/^W\/"/);
    const sampleKeys = Object.keys(fixture("graph-planner-create-task-v1-response.json"));
    for (const key of sampleKeys) expect(task).toHaveProperty(key);
    const id = String(task.id);

    const details = (await client.api(`/planner/tasks/${id}/details`).get()) as { "@odata.etag": string };
    const stale = details["@odata.etag"];
    await client
      .api(`/planner/tasks/${id}/details`)
      .header("If-Match", stale)
      .patch({ description: "Review sign-ins of the blind window", checklist: { a1: { "@odata.type": "microsoft.graph.plannerChecklistItem", title: "Export sign-ins", isChecked: false } } });
    expect(sim.requests.at(-1)?.status).toBe(204);
    const conflict = await graphError(client.api(`/planner/tasks/${id}/details`).header("If-Match", stale).patch({ description: "again" }));
    expect(conflict.statusCode).toBe(412);
    const missing = await graphError(client.api(`/planner/tasks/${id}/details`).patch({ description: "again" }));
    expect(missing.statusCode).toBe(400);
    const record = sim.sent.plannerTasks.find((t) => t.task.id === id);
    expect(record?.details.description).toBe("Review sign-ins of the blind window");
    expect(record?.task.checklistItemCount).toBe(1);
    // Another tenant cannot see it.
    const other = await graphError(simulatorGraphClient(sim.url, free).api(`/planner/tasks/${id}/details`).get());
    expect(other.statusCode).toBe(404);
  });

  it("records Adaptive Cards posted to a Workflows webhook (202) and rejects other bodies", async () => {
    const card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Blind window opened" }] };
    const ok = await fetch(sim.workflowUrl(p2, "secops"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }] }),
    });
    expect(ok.status).toBe(202);
    expect(sim.sent.cards.at(-1)).toMatchObject({ tenantId: p2, hookId: "secops", card });
    const wrong = await fetch(sim.workflowUrl(p2), { method: "POST", body: JSON.stringify({ text: "hello" }) });
    expect(wrong.status).toBe(400);
    expect(sim.sent.cards).toHaveLength(1);
  });

  it("accepts the simulator token helper directly", async () => {
    const res = await fetch(`${sim.url}/v1.0/identityProtection/riskDetections?$top=1`, { headers: { authorization: `Bearer ${simulatorToken(free)}` } });
    expect(res.status).toBe(200);
  });
});
