import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import type { JsonObject } from "../../local/graphSimulator/sentItems.js";
import { adaptiveCardProblems } from "../../shared/adapters/adaptiveCardValidator.js";
import type { GraphTransport } from "../../shared/adapters/graph/graphClientFactory.js";
import { CLAIM_MS } from "../../shared/app/deliverTask.js";
import { escalateTasks } from "../../shared/app/escalateTasks.js";
import { refreshTask } from "../../shared/app/refreshTask.js";
import type { Delivery, DeliveryStore } from "../../shared/app/taskPorts.js";
import { acknowledgeTask, listTasks } from "../../shared/app/taskStatus.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { checklistItemId, plannerMarker, taskId } from "../../shared/domain/task.js";
import type { TenantProfile } from "../../shared/domain/tenant.js";
import { StorageUnavailableError } from "../../shared/errors.js";
import { emptyAccount } from "../support/azurite.js";
import { ManualClock, peekAll } from "../support/storage.js";
import { taskHarness, type TaskHarness, type TaskHarnessOptions } from "../support/taskHarness.js";
import { blindWindow, finding, tenantWithChannels } from "../support/taskWorld.js";

const NOW = "2024-09-20T12:00:00Z";

let azurite: EmbeddedAzurite;
let sim: GraphSimulator;
let clock: ManualClock;
let A: string;
let B: string;
/** The simulator lives across tests: each test's windows (hence tasks and Planner markers) are its own. */
let run = 0;
const windowIdOf = (tenantId: string) => `w${tenantId.slice(0, 8)}${String(run).padStart(8, "0")}`;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  // Faults may hit writes too (POST: sendMail, Planner, Workflows webhooks; PATCH: Planner).
  sim = await startGraphSimulator({ seed: 6, now: NOW, days: 1, throttling: false, tenants: [{ displayName: "Contoso", users: 2, attacks: [] }, { displayName: "Fabrikam", users: 2, attacks: [] }], faults: { rate: 0, kinds: [], methods: ["GET", "POST", "PATCH"] } });
  [A, B] = sim.tenants.map((t) => t.id) as [string, string];
});
afterAll(async () => {
  await sim.close();
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite);
  clock = new ManualClock(new Date(NOW));
  sim.sent.mails.length = 0;
  sim.sent.cards.length = 0;
  sim.sent.plannerTasks.length = 0;
  sim.requests.length = 0;
  run += 1;
});

function harness(options: Partial<TaskHarnessOptions> = {}): TaskHarness {
  return taskHarness(azurite, { simulatorUrl: sim.url, clock, settings: { BLINDWINDOW_DELIVERY_MAX_ATTEMPTS: "3" }, ...options });
}

async function seed(h: TaskHarness, tenantId: string, name: string, contacts: Partial<TenantProfile["contacts"]> = {}): Promise<{ window: BlindWindow; profile: TenantProfile }> {
  const profile = tenantWithChannels(tenantId, name, sim.workflowUrl(tenantId), contacts);
  await h.services.tenants.putMany([profile], clock.now());
  const window = blindWindow(tenantId, { windowId: windowIdOf(tenantId), notices: [`manual~PIR-${name}`] });
  await h.services.ledger.replaceWindows(tenantId, window.source, [window]);
  return { window, profile };
}

const plannerOf = (tenantId: string) => sim.sent.plannerTasks.filter((t) => t.tenantId === tenantId);
const cardsOf = (tenantId: string) => sim.sent.cards.filter((c) => c.tenantId === tenantId);
const mailsOf = (tenantId: string) => sim.sent.mails.filter((m) => m.tenantId === tenantId);

/** The MIME parts of a captured mail, decoded. */
function mimeParts(mime: string | undefined): Record<string, string> {
  const text = mime ?? "";
  const boundary = /boundary="([^"]+)"/.exec(text)?.[1] ?? "none";
  const out: Record<string, string> = {};
  for (const chunk of text.split(`--${boundary}`).slice(1, -1)) {
    const [head = "", ...body] = chunk.replace(/^\r\n/, "").split("\r\n\r\n");
    const type = /Content-Type: ([^;\r\n]+)/.exec(head)?.[1] ?? "";
    out[type] = Buffer.from(body.join("").replace(/\s+/g, ""), "base64").toString("utf8");
  }
  return out;
}

describe("task delivery against the Graph simulator and its Workflows endpoint", () => {
  it("creates one Planner task and updates it with If-Match (a 412 is re-read and retried), posts valid cards, sends MIME mails", async () => {
    // A person ticks a checklist item between our GET and our PATCH of the details, once: our If-Match is stale.
    let interfere = false;
    const transport: GraphTransport = async (url, init) => {
      if (interfere && init.method === "PATCH" && url.endsWith("/details")) {
        interfere = false;
        const authorization = new Headers(init.headers).get("authorization") ?? "";
        const confirm = checklistItemId(taskId(A, windowIdOf(A)), "confirm");
        const tick = await fetch(url, { method: "PATCH", headers: { authorization, "content-type": "application/json", "if-match": "*" }, body: JSON.stringify({ checklist: { [confirm]: { "@odata.type": "microsoft.graph.plannerChecklistItem", isChecked: true } } }) });
        expect(tick.status).toBe(204);
      }
      return fetch(url, init);
    };
    const h = harness({ transport });
    const { window, profile } = await seed(h, A, "Contoso");
    const id = taskId(A, window.windowId);
    h.reviews.setControls(window, { "signin-review": "running", preserve: "planned" });

    expect(await refreshTask(h.deps, A, window.windowId, clock.now())).toEqual({ outcome: "created", taskId: id, enqueued: ["planner", "teams", "email"] });
    expect((await h.drain()).map((o) => o.outcome)).toEqual(["sent", "sent", "sent"]);

    const [planned] = plannerOf(A);
    expect(plannerOf(A)).toHaveLength(1);
    expect(planned?.task).toMatchObject({ planId: profile.contacts.planner?.planId, bucketId: profile.contacts.planner?.bucketId, dueDateTime: window.reviewDeadline });
    expect(String(planned?.task.title)).toContain(plannerMarker(id));
    const checklist = () => Object.entries((plannerOf(A)[0]?.details.checklist ?? {}) as Record<string, JsonObject>);
    expect(checklist().map(([, item]) => item.title)).toEqual(["Review the findings once the reviews finish", "Confirm the blind window, or dismiss it with a reason"]);
    expect(String(planned?.details.description)).toContain("Review by 2024-10-02 23:00 UTC");

    expect(cardsOf(A)).toHaveLength(1);
    expect(adaptiveCardProblems(cardsOf(A)[0]?.card)).toEqual([]);
    expect(JSON.stringify(cardsOf(A)[0]?.card)).toContain("Blind window: action needed");

    expect(mailsOf(A)).toHaveLength(1);
    const mail = mailsOf(A)[0];
    expect(mail?.sender).toBe(profile.contacts.mailSender);
    expect(mail?.message.toRecipients).toEqual(profile.contacts.emails.map((address) => ({ emailAddress: { address } })));
    expect(mail?.message.internetMessageHeaders).toContainEqual({ name: "x-blindwindow-task", value: id });
    const parts = mimeParts(mail?.mime);
    expect(Object.keys(parts)).toEqual(["text/plain", "text/html"]);
    expect(parts["text/plain"]).toContain("Review by 2024-10-02 23:00 UTC");
    expect(parts["text/html"]).toMatch(/^<!DOCTYPE html>/);

    // The same state again: nothing written, nothing sent.
    expect(await refreshTask(h.deps, A, window.windowId, clock.now())).toEqual({ outcome: "unchanged", taskId: id, enqueued: [] });
    expect(await h.drain()).toEqual([]);

    // Progress: Planner mirrors it; Teams and e-mail are not re-sent for progress.
    clock.advance(600_000);
    h.reviews.setControls(window, { "signin-review": "running", preserve: "running" });
    expect((await refreshTask(h.deps, A, window.windowId, clock.now())).enqueued).toEqual(["planner"]);
    await h.drain();
    expect(plannerOf(A)).toHaveLength(1);
    expect(cardsOf(A)).toHaveLength(1);
    expect(mailsOf(A)).toHaveLength(1);

    // Controls finish with findings: the same Planner task is updated (through a 412), the tick survives, a new card and mail go out.
    clock.advance(600_000);
    h.reviews.setControls(window, { "signin-review": "done", preserve: "done" }, { evidence: { manifestPath: `evidence/${A}/manifest.json`, blobs: 1, records: 10 } });
    h.reviews.findings = [finding(window, 1), finding(window, 2, { severity: "medium" })];
    interfere = true;
    expect((await refreshTask(h.deps, A, window.windowId, clock.now())).enqueued).toEqual(["planner", "teams", "email"]);
    expect((await h.drain()).map((o) => o.outcome)).toEqual(["sent", "sent", "sent"]);
    expect(interfere).toBe(false);
    expect(sim.requests.filter((r) => r.method === "PATCH" && r.status === 412)).toHaveLength(1);
    expect(plannerOf(A)).toHaveLength(1);
    const items = Object.fromEntries(checklist().map(([, item]) => [String(item.title), item.isChecked]));
    expect(items).toEqual({
      "Review 2 findings (1 high, 1 medium)": false,
      "Check the preserved evidence (manifest in the task notes)": false,
      "Confirm the blind window, or dismiss it with a reason": true,
    });
    expect(String(plannerOf(A)[0]?.details.description)).toContain(`manifest evidence/${A}/manifest.json`);
    expect(cardsOf(A)).toHaveLength(2);
    expect(JSON.stringify(cardsOf(A)[1]?.card)).toContain("Blind window: reviews finished");
    expect(mailsOf(A)).toHaveLength(2);

    // Acknowledged: Planner shows it (50 %), nothing else is sent.
    await acknowledgeTask(h.deps, id, { by: "ann@contoso.example" });
    await h.drain();
    expect(plannerOf(A)[0]?.task.percentComplete).toBe(50);
    expect(cardsOf(A)).toHaveLength(2);
    expect(mailsOf(A)).toHaveLength(2);
    const [view] = await listTasks(h.services, { tenant: A });
    expect(view?.deliveries.map((d) => [d.channel, d.state])).toEqual([["email", "sent"], ["planner", "sent"], ["teams", "sent"]]);
    expect(view?.deliveries.find((d) => d.channel === "planner")?.externalId).toBe(plannerOf(A)[0]?.task.id);
  });

  it("a crash between Planner create and the outbox write creates no second task: the retry finds it by its marker", async () => {
    let crash = true;
    const wrapDeliveries = (store: DeliveryStore): DeliveryStore => ({
      get: (taskId, key) => store.get(taskId, key),
      listForTask: (taskId) => store.listForTask(taskId),
      listPending: (before) => store.listPending(before),
      put: (d: Delivery, etag) => {
        if (crash && d.key === "planner" && d.externalId !== undefined) {
          crash = false;
          return Promise.reject(new StorageUnavailableError("write delivery", new Error("process killed")));
        }
        return store.put(d, etag);
      },
    });
    const h = harness({ wrapDeliveries });
    const { window, profile } = await seed(h, A, "Contoso", { teamsWorkflowUrl: undefined, mailSender: undefined });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    const [message] = h.queue.take("deliveries");
    await expect(h.deliver(message?.message)).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(plannerOf(A)).toHaveLength(1);
    const row = (await h.services.deliveries.get(taskId(A, window.windowId), "planner"))?.delivery;
    expect(row).toMatchObject({ state: "pending", attempts: 1 });
    expect(row?.externalId).toBeUndefined();
    expect(row?.plannerCreateStartedAt).toBeDefined();

    // The queue retries at once: the claim of the killed worker holds it back until it expires.
    expect(await h.deliver(message?.message)).toMatchObject({ outcome: "busy" });
    clock.advance(CLAIM_MS + 1000);
    expect(await h.deliver(message?.message)).toMatchObject({ outcome: "sent", externalId: plannerOf(A)[0]?.task.id });
    expect(plannerOf(A)).toHaveLength(1);
    expect(sim.requests.some((r) => r.method === "GET" && r.path === `/v1.0/planner/plans/${profile.contacts.planner?.planId ?? ""}/tasks`)).toBe(true);
    expect((await h.services.deliveries.get(taskId(A, window.windowId), "planner"))?.delivery).toMatchObject({ state: "sent", externalId: plannerOf(A)[0]?.task.id });
    expect(h.log.lines.some((l) => l.includes("Planner task found by marker"))).toBe(true);
  });

  it("a crash after a card or mail was accepted sends it at most once more", async () => {
    const crashed = new Set<string>();
    const wrapDeliveries = (store: DeliveryStore): DeliveryStore => ({
      get: (t, k) => store.get(t, k),
      listForTask: (t) => store.listForTask(t),
      listPending: (b) => store.listPending(b),
      put: (d, etag) => {
        if (d.sentHash !== undefined && !crashed.has(d.key)) {
          crashed.add(d.key);
          return Promise.reject(new StorageUnavailableError("write delivery", new Error("process killed")));
        }
        return store.put(d, etag);
      },
    });
    const h = harness({ wrapDeliveries });
    const { window } = await seed(h, A, "Contoso", { planner: undefined });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    const messages = h.queue.take("deliveries");
    expect(messages.map((m) => (m.message as { key: string }).key)).toEqual(["teams", "email"]);
    for (const m of messages) await expect(h.deliver(m.message)).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(cardsOf(A)).toHaveLength(1);
    expect(mailsOf(A)).toHaveLength(1);
    clock.advance(CLAIM_MS + 1000);
    for (const m of messages) expect(await h.deliver(m.message)).toMatchObject({ outcome: "sent" });
    for (const m of messages) expect(await h.deliver(m.message)).toMatchObject({ outcome: "up-to-date" });
    expect(cardsOf(A)).toHaveLength(2);
    expect(mailsOf(A)).toHaveLength(2);
  });

  it("a lost delivery message is sent again by the sweeper, once per interval", async () => {
    const h = harness();
    const { window } = await seed(h, A, "Contoso");
    await refreshTask(h.deps, A, window.windowId, clock.now());
    expect(h.queue.take("deliveries")).toHaveLength(3); // lost: never delivered
    clock.advance(5 * 60_000);
    expect((await escalateTasks(h.deps, clock.now())).redelivered).toBe(0); // too early to call them lost
    clock.advance(6 * 60_000);
    expect((await escalateTasks(h.deps, clock.now())).redelivered).toBe(3);
    expect((await escalateTasks(h.deps, clock.now())).redelivered).toBe(0);
    expect((await h.drain()).map((o) => o.outcome)).toEqual(["sent", "sent", "sent"]);
    expect([plannerOf(A).length, cardsOf(A).length, mailsOf(A).length]).toEqual([1, 1, 1]);
    clock.advance(60 * 60_000);
    expect((await escalateTasks(h.deps, clock.now())).redelivered).toBe(0);
  });

  it("a Teams outage is retried with back-off, then poisoned with the reason in the Deliveries row; a mail outage recovers", async () => {
    const h = harness();
    const { window } = await seed(h, A, "Contoso", { planner: undefined });
    const id = taskId(A, window.windowId);
    await refreshTask(h.deps, A, window.windowId, clock.now());
    const [teams, email] = h.queue.take("deliveries");

    sim.injectFault("503", 9); // three calls of three attempts each
    const first = await h.deliver(teams?.message);
    expect(first).toMatchObject({ outcome: "retry", attempt: 1 });
    expect((await h.services.deliveries.get(id, "teams"))?.delivery).toMatchObject({ state: "pending", attempts: 1, lastError: "teams-unavailable: the Teams workflow answered 503 after 3 attempts" });
    clock.advance(60_000);
    const second = await h.deliver(teams?.message);
    expect(second).toMatchObject({ outcome: "retry", attempt: 2 });
    const delays = h.queue.take("deliveries").map((m) => m.delaySeconds ?? 0);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(24);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? 0);
    clock.advance(600_000);
    expect(await h.deliver(teams?.message)).toMatchObject({ outcome: "poisoned" });
    expect(cardsOf(A)).toHaveLength(0);
    const row = (await h.services.deliveries.get(id, "teams"))?.delivery;
    expect(row).toMatchObject({ state: "failed", attempts: 3, lastError: "teams-unavailable: the Teams workflow answered 503 after 3 attempts (after 3 attempts)" });
    const poison = (await peekAll(azurite, "deliveries-poison")) as { reason: string; attempts: number; message: unknown }[];
    expect(poison).toEqual([{ reason: `${id}/teams: teams-unavailable: the Teams workflow answered 503 after 3 attempts`, attempts: 3, message: { v: 1, kind: "task-delivery", taskId: id, key: "teams" } }]);
    expect(h.log.lines.some((l) => l.includes("deliveries-poison"))).toBe(true);

    // Mail: Graph answers 500 once (a write is not retried blindly inside the call); the next attempt is accepted.
    sim.injectFault("500", 1);
    expect(await h.deliver(email?.message)).toMatchObject({ outcome: "retry", attempt: 1 });
    expect(mailsOf(A)).toHaveLength(0);
    clock.advance(60_000);
    expect(await h.deliver(email?.message)).toMatchObject({ outcome: "sent" });
    expect(mailsOf(A)).toHaveLength(1);
    expect((await h.services.deliveries.get(id, "email"))?.delivery).toMatchObject({ state: "sent", attempts: 2 });
    expect((await h.services.deliveries.get(id, "email"))?.delivery.lastError).toBeUndefined();
  });

  it("a refusal no retry can fix is poisoned at once; a channel that cannot work is skipped with the reason", async () => {
    const h = harness({ noGraph: true });
    const unknownHook = `${sim.url}/workflows/0f0f0f0f-0000-4000-8000-000000000404/default`;
    const { window } = await seed(h, A, "Contoso", { teamsWorkflowUrl: unknownHook });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    const outcomes = await h.drain();
    expect(outcomes).toEqual([
      { outcome: "skipped", key: "planner", reason: "Graph is not configured" },
      { outcome: "poisoned", key: "teams", reason: `${taskId(A, window.windowId)}/teams: teams-refused: the Teams workflow answered 404` },
      { outcome: "skipped", key: "email", reason: "Graph is not configured" },
    ]);
    const [view] = await listTasks(h.services, {});
    expect(view?.deliveries).toEqual([
      { channel: "email", state: "skipped", attempts: 0, lastError: "Graph is not configured" },
      { channel: "planner", state: "skipped", attempts: 0, lastError: "Graph is not configured" },
      { channel: "teams", state: "failed", attempts: 1, lastError: "teams-refused: the Teams workflow answered 404 (after 1 attempt; not retryable)" },
    ]);
    // Skipped stays skipped for the same content: no message loop.
    await refreshTask(h.deps, A, window.windowId, clock.now());
    expect(h.queue.take("deliveries")).toEqual([]);
  });

  it("a Sentinel window carries its hunt checklist: one Planner item per query, the KQL with the window's times in the notes and the mail", async () => {
    const h = harness();
    const profile = tenantWithChannels(A, "Contoso", sim.workflowUrl(A));
    await h.services.tenants.putMany([profile], clock.now());
    const window = blindWindow(A, { source: "sentinel", windowId: windowIdOf(A), notices: ["manual~PIR-sentinel"] });
    await h.services.ledger.replaceWindows(A, "sentinel", [window]);
    h.reviews.setControls(window, { "hunt-checklist": "done" });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    expect((await h.drain()).map((o) => o.outcome)).toEqual(["sent", "sent", "sent"]);
    const task = (await h.services.tasks.get(A, taskId(A, window.windowId)))?.task;
    const hunts = task?.content.huntQueries ?? [];
    expect(hunts.length).toBeGreaterThan(0);
    const titles = Object.values((plannerOf(A)[0]?.details.checklist ?? {}) as Record<string, JsonObject>).map((i) => String(i.title));
    expect(titles).toHaveLength(hunts.length + 1);
    expect(titles.every((t) => t.length <= 100)).toBe(true);
    expect(titles.filter((t) => t.startsWith("Run hunt ("))).toHaveLength(hunts.length);
    const notes = String(plannerOf(A)[0]?.details.description);
    const text = mimeParts(mailsOf(A)[0]?.mime)["text/plain"] ?? "";
    for (const q of hunts) {
      expect(notes).toContain(q.kql);
      expect(text).toContain(q.kql);
    }
    expect(text).toContain("datetime(2024-09-02T23:00:00Z)");
    expect(text).toContain("(run in Log Analytics workspace");
    expect(adaptiveCardProblems(cardsOf(A)[0]?.card)).toEqual([]);
  });

  it("tenant A's task, card, mail and Planner task never contain tenant B's data", async () => {
    const h = harness();
    const a = await seed(h, A, "Contoso");
    const b = await seed(h, B, "Fabrikam");
    const upn = (t: string, n: number) => `user${String(n)}@${t}.example`;
    const ip = (t: string, n: number) => (t === "contoso" ? `203.0.113.${String(n)}` : `198.51.100.${String(n)}`);
    for (const [w, name] of [[a.window, "contoso"], [b.window, "fabrikam"]] as const) {
      h.reviews.setControls(w, { "signin-review": "done", preserve: "done" });
      h.reviews.findings.push(
        ...[1, 2, 3].map((n) => finding(w, n, { subject: { kind: "user", id: `${w.tenantId}-u${String(n)}`, name: upn(name, n) }, explanation: `Spray on ${upn(name, n)} from ${ip(name, n)}`, ipAddresses: [ip(name, n)] })),
      );
    }
    await refreshTask(h.deps, A, a.window.windowId, clock.now());
    await refreshTask(h.deps, B, b.window.windowId, clock.now());
    expect((await h.drain()).filter((o) => o.outcome === "sent")).toHaveLength(6);

    const fabrikamFindings = h.reviews.findings.filter((f) => f.tenantId === B);
    const foreign = [B, "Fabrikam", "fabrikam", ...[1, 2, 3].flatMap((n) => [upn("fabrikam", n), ip("fabrikam", n)]), ...fabrikamFindings.map((f) => f.id)];
    const toA = JSON.stringify([plannerOf(A), cardsOf(A), mailsOf(A).map((m) => [m.message, mimeParts(m.mime)]), (await h.services.tasks.get(A, taskId(A, a.window.windowId)))?.task]);
    for (const value of foreign) expect(toA, value).not.toContain(value);
    expect(toA).toContain(upn("contoso", 1));
    // And B got its own, to its own hook and mailbox.
    expect(cardsOf(B)).toHaveLength(1);
    expect(mailsOf(B)[0]?.sender).toBe("blindwindow@fabrikam.example");
    expect(JSON.stringify(cardsOf(B))).not.toContain(A);
  });
});
