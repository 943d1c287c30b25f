import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { health } from "../../functions/health.js";
import { noticeProcess } from "../../functions/noticeProcess.js";
import { noticeSubmit } from "../../functions/noticeSubmit.js";
import { watchdog } from "../../functions/watchdog.js";
import { escalateTasks } from "../../shared/app/escalateTasks.js";
import { refreshTask } from "../../shared/app/refreshTask.js";
import { sweepTasks } from "../../shared/app/sweepTasks.js";
import { acknowledgeTask, completeTask, listTasks } from "../../shared/app/taskStatus.js";
import { NO_OPERATOR_TENANT } from "../../shared/app/watchdog.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { taskId } from "../../shared/domain/task.js";
import { emptyAccount } from "../support/azurite.js";
import { scheduledTimer, tenantProfile } from "../support/builders.js";
import { bodyJson, context, getRequest, jsonRequest } from "../support/http.js";
import { ManualClock } from "../support/storage.js";
import { taskHarness, type TaskHarness } from "../support/taskHarness.js";
import { blindWindow, tenantWithChannels } from "../support/taskWorld.js";

const NOW = "2024-09-20T12:00:00Z";
const HOUR = 3_600_000;

let azurite: EmbeddedAzurite;
let sim: GraphSimulator;
let clock: ManualClock;
let A: string;
let B: string;
let run = 0;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  sim = await startGraphSimulator({ seed: 7, now: NOW, days: 1, throttling: false, tenants: [{ displayName: "Contoso", users: 2, attacks: [] }, { displayName: "Fabrikam", users: 2, attacks: [] }] });
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
  run += 1;
});

const mailsOf = (tenantId: string) => sim.sent.mails.filter((m) => m.tenantId === tenantId);
const cardsOf = (tenantId: string) => sim.sent.cards.filter((c) => c.tenantId === tenantId);

async function seedWindow(h: TaskHarness, tenantId: string, dueInHours: number): Promise<BlindWindow> {
  await h.services.tenants.putMany([tenantWithChannels(tenantId, "Contoso", sim.workflowUrl(tenantId), { planner: undefined })], clock.now());
  const deadline = new Date(clock.now().getTime() + dueInHours * HOUR);
  const window = blindWindow(tenantId, { windowId: `wesc${String(run).padStart(8, "0")}`, end: null, status: "confirmed", reviewDeadline: deadline.toISOString(), start: new Date(deadline.getTime() - 30 * 24 * HOUR).toISOString() });
  await h.services.ledger.replaceWindows(tenantId, window.source, [window]);
  return window;
}

/** Advances the manual clock to `hours` before (negative: after) the deadline. */
function moveTo(window: BlindWindow, hoursBefore: number): void {
  clock.advance(Date.parse(window.reviewDeadline) - hoursBefore * HOUR - clock.now().getTime());
}

describe("escalation and deadline warnings (sweeper, controllable clock)", () => {
  it("warns 72 h and 24 h before the deadline while controls are unfinished, once each, then escalates the overdue task", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock });
    const window = await seedWindow(h, A, 100);
    const id = taskId(A, window.windowId);
    h.reviews.setControls(window, { "signin-review": "running", preserve: "planned" });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    await h.drain();
    expect(mailsOf(A)).toHaveLength(1);

    expect(await escalateTasks(h.deps, clock.now())).toEqual({ overdue: 0, warnings: 0, redelivered: 0 });
    moveTo(window, 73);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(0);

    moveTo(window, 71);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1);
    expect(await h.drain()).toEqual([{ outcome: "sent", key: "warn-72h", externalId: expect.stringContaining(`${id}/warn-72h/`) as string }]);
    const warn72 = mailsOf(A).at(-1);
    expect(warn72?.message.subject).toMatch(/^\[blindwindow\] 72 h to deadline: /);
    expect(warn72?.message.toRecipients).toEqual([{ emailAddress: { address: "soc@contoso.example" } }, { emailAddress: { address: "lead@contoso.example" } }]);
    expect(warn72?.message.ccRecipients).toEqual([{ emailAddress: { address: "ciso@contoso.example" } }]);
    moveTo(window, 70);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(0); // once per deadline

    moveTo(window, 23);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1);
    await h.drain();
    expect(mailsOf(A).at(-1)?.message.subject).toMatch(/^\[blindwindow\] 24 h to deadline: /);
    expect(mailsOf(A)).toHaveLength(3);

    await acknowledgeTask(h.deps, id, { by: "Ann Analyst" });
    moveTo(window, -1);
    expect(await escalateTasks(h.deps, clock.now())).toMatchObject({ overdue: 1, warnings: 0 });
    await h.drain();
    const overdue = mailsOf(A).at(-1);
    expect(overdue?.message.subject).toMatch(/^\[blindwindow\] Overdue: /);
    expect(overdue?.message.toRecipients).toEqual([{ emailAddress: { address: "ciso@contoso.example" } }]);
    expect(overdue?.mime).toContain("X-Blindwindow-Delivery");
    expect(Buffer.from(/Content-Type: text\/plain[^]*?\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(overdue?.mime ?? "")?.[1]?.replace(/\s+/g, "") ?? "", "base64").toString("utf8")).toContain("still acknowledged (acknowledged by Ann Analyst");
    moveTo(window, -2);
    expect((await escalateTasks(h.deps, clock.now())).overdue).toBe(0);
    expect(mailsOf(A)).toHaveLength(4);
  });

  it("no warning once the controls are finished, none for a done task; a moved deadline arms the warnings again", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock });
    const window = await seedWindow(h, A, 100);
    const id = taskId(A, window.windowId);
    h.reviews.setControls(window, { "signin-review": "done", preserve: "done" });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    await h.drain();
    moveTo(window, 23);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(0);

    // A control runs again (the window grew) and a revision moved the start: the deadline is two days later.
    h.reviews.setControls(window, { "signin-review": "running", preserve: "done" });
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1);
    await h.drain();
    const moved = { ...window, reviewDeadline: new Date(Date.parse(window.reviewDeadline) + 48 * HOUR).toISOString() };
    await h.services.ledger.replaceWindows(A, window.source, [moved]);
    await refreshTask(h.deps, A, window.windowId, clock.now());
    await h.drain();
    expect((await h.services.tasks.get(A, id))?.task.dueDate).toBe(moved.reviewDeadline);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1); // 71 h before the new deadline: warn-72h again
    await h.drain();
    expect(mailsOf(A).map((m) => String(m.message.subject).slice(0, 30))).toEqual(["[blindwindow] Blind window: Mi", "[blindwindow] 24 h to deadline", "[blindwindow] Blind window: Mi", "[blindwindow] 72 h to deadline"]);

    await completeTask(h.deps, id, { by: "Ann Analyst", note: "reviewed in Sentinel, nothing found" });
    moveTo(moved, -5);
    expect(await escalateTasks(h.deps, clock.now())).toMatchObject({ overdue: 0, warnings: 0 });
    const [view] = await listTasks(h.services, { tenant: A, status: "done" });
    expect(view).toMatchObject({ status: "done", doneBy: "Ann Analyst", acknowledgedBy: "Ann Analyst", notes: [{ by: "Ann Analyst", text: "reviewed in Sentinel, nothing found" }] });
  });
});

describe("an escalation decided before the deadline moved", () => {
  it("is skipped at delivery, and armed again when the new deadline falls due", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock });
    const window = await seedWindow(h, A, 100);
    const id = taskId(A, window.windowId);
    h.reviews.setControls(window, { "signin-review": "running" });
    await refreshTask(h.deps, A, window.windowId, clock.now());
    await h.drain();
    moveTo(window, 71);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1);
    const [warning] = h.queue.take("deliveries");
    // Before the warning is delivered, a revision moves the window's start: the deadline is four days later.
    const moved = { ...window, reviewDeadline: new Date(Date.parse(window.reviewDeadline) + 96 * HOUR).toISOString() };
    await h.services.ledger.replaceWindows(A, window.source, [moved]);
    await refreshTask(h.deps, A, window.windowId, clock.now());
    await h.drain(); // the moved window is announced again
    expect(await h.deliver(warning?.message)).toEqual({ outcome: "skipped", key: "warn-72h", reason: "not due any more: the deadline moved" });
    const before = mailsOf(A).length;
    moveTo(moved, 71);
    expect((await escalateTasks(h.deps, clock.now())).warnings).toBe(1);
    await h.drain();
    expect(mailsOf(A)).toHaveLength(before + 1);
    expect(mailsOf(A).at(-1)?.message.subject).toMatch(/^\[blindwindow\] 72 h to deadline: /);
    expect((await h.services.deliveries.get(id, "warn-72h"))?.delivery.state).toBe("sent");
  });
});

describe("watchdog: the system notices its own blind window", () => {
  it("a stale sweeper raises a task for the operator's tenant, delivered to its contacts; health names it; recovery is reported once", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock, settings: { BLINDWINDOW_OPERATOR_TENANT_ID: A.toUpperCase() } });
    await h.services.tenants.putMany([tenantWithChannels(A, "Operator", sim.workflowUrl(A), { planner: undefined })], clock.now());
    const beat = (component: string) => h.services.heartbeats.beat({ component, at: clock.now().toISOString(), expectedEverySeconds: 300 });
    await beat("sweeper");
    await beat("serviceHealthPoll");
    const lastSweep = clock.now().toISOString();

    expect(await watchdog(scheduledTimer, context("watchdog"), h.services)).toEqual({ stale: [], raised: [], recovered: [] });
    clock.advance(11 * 60_000); // two missed beats of 5 minutes and a bit
    await beat("serviceHealthPoll");
    expect(await watchdog(scheduledTimer, context("watchdog"), h.services)).toEqual({ stale: ["sweeper"], raised: ["sweeper"], recovered: [] });
    expect((await h.drain()).map((o) => o.outcome)).toEqual(["sent", "sent"]);
    expect(cardsOf(A)).toHaveLength(1);
    expect(JSON.stringify(cardsOf(A)[0]?.card)).toContain("blindwindow is blind itself");
    expect(mailsOf(A)[0]?.message.subject).toBe("[blindwindow] Blindwindow itself: sweeper stopped at 2024-09-20 12:00 UTC — Operator");

    const report = bodyJson(await health(getRequest("http://localhost/api/health"), context("health"), h.services));
    expect(report.stale).toEqual(["sweeper"]);
    const [task] = await listTasks(h.services, { tenant: A });
    expect(task).toMatchObject({ kind: "watchdog", source: "sweeper", status: "open", id: `${A}.watchdog-sweeper-${lastSweep.replace(/[^0-9]/g, "").slice(0, 12)}` });

    clock.advance(10 * 60_000);
    expect((await watchdog(scheduledTimer, context("watchdog"), h.services)).raised).toEqual([]); // the same outage: no second task
    await beat("sweeper");
    expect(await watchdog(scheduledTimer, context("watchdog"), h.services)).toEqual({ stale: [], raised: [], recovered: ["sweeper"] });
    await h.drain();
    expect(cardsOf(A)).toHaveLength(2);
    expect(JSON.stringify(cardsOf(A)[1]?.card)).toContain("beat again at 2024-09-20 12:21 UTC");
    expect((await watchdog(scheduledTimer, context("watchdog"), h.services)).recovered).toEqual([]);
    expect((await listTasks(h.services, {})).length).toBe(1);
  });

  it("the sweeper watches the watchdog; without an operator tenant the task is stored and listed, not delivered, and the log says why", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock });
    await h.services.heartbeats.beat({ component: "watchdog", at: clock.now().toISOString(), expectedEverySeconds: 600 });
    clock.advance(21 * 60_000);
    const result = await sweepTasks(h.deps);
    expect(result.staleComponents).toEqual(["watchdog"]);
    const tasks = await listTasks(h.services, {});
    expect(tasks).toMatchObject([{ tenantId: NO_OPERATOR_TENANT, kind: "watchdog", source: "watchdog", deliveries: [] }]);
    expect(h.queue.take("deliveries")).toEqual([]);
    expect(h.log.lines.some((l) => l.includes("no operator contacts"))).toBe(true);
  });
});

describe("tasks follow the ledger", () => {
  it("notice processing creates the task; a later notice merged into the window keeps it; the sweeper catches up a window without one", async () => {
    const h = taskHarness(azurite, { simulatorUrl: sim.url, clock });
    await h.services.tenants.putMany([tenantWithChannels(A, "Contoso", sim.workflowUrl(A), { planner: undefined, mailSender: undefined }), tenantProfile(B, "Fabrikam")], clock.now());
    const submit = async (id: string, start: string, end: string) => {
      const notice = { id, title: "Microsoft Entra sign-in logs missing", body: "Some Microsoft Entra sign-in logs were not recorded and are lost.", impactStart: start, impactEnd: end, services: ["Microsoft Entra ID"], tenants: [A], publishedAt: clock.now().toISOString() };
      expect((await noticeSubmit(jsonRequest("http://localhost/api/notices", notice), context("noticeSubmit"), h.services)).status).toBe(202);
      for (const m of h.queue.take("notices")) expect((await noticeProcess(m.message, context("noticeProcess"), h.services)).outcome).toBe("processed");
    };
    await submit("PIR-1", "2024-09-02T23:00:00Z", "2024-09-10T00:00:00Z");
    const first = await listTasks(h.services, { tenant: A });
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((t) => t.status === "open" && t.kind === "window")).toBe(true);
    const signin = first.find((t) => t.source === "entra-signin");
    expect(signin?.title).toContain("2024-09-02 23:00 UTC – 2024-09-10 00:00 UTC");
    expect(h.queue.take("deliveries").map((m) => (m.message as { key: string }).key)).toEqual(first.map(() => "teams"));

    // An overlapping notice merges into the window (a new window id): the same task follows it, re-announced.
    clock.advance(HOUR);
    await submit("PIR-2", "2024-09-08T00:00:00Z", "2024-09-19T00:00:00Z");
    const second = await listTasks(h.services, { tenant: A });
    expect(second.map((t) => t.id).sort()).toEqual(first.map((t) => t.id).sort());
    const merged = second.find((t) => t.source === "entra-signin");
    expect(merged?.windowId).not.toBe(signin?.windowId);
    expect(merged?.title).toContain("2024-09-02 23:00 UTC – 2024-09-19 00:00 UTC");
    expect((await h.services.tasks.get(A, merged?.id ?? ""))?.task.notices).toEqual(["manual~PIR-1", "manual~PIR-2"]);

    // A window written without its task (a crash between the two) is caught up by the sweeper.
    const orphan = blindWindow(B, { windowId: "worphan000000001" });
    await h.services.ledger.replaceWindows(B, orphan.source, [orphan]);
    expect((await sweepTasks(h.deps)).tasksCaughtUp).toBe(1);
    expect((await listTasks(h.services, { tenant: B })).map((t) => t.id)).toEqual([taskId(B, orphan.windowId)]);
    expect((await sweepTasks(h.deps)).tasksCaughtUp).toBe(0);
  });
});
