import { describe, expect, it } from "vitest";
import {
  announcementHash,
  buildTaskContent,
  buildWatchdogContent,
  checklistItemId,
  deliveryHash,
  parseTaskId,
  plannerMarker,
  taskContentHash,
  taskId,
  watchdogWindowKey,
  PLANNER_LIMITS,
  type TaskContentInput,
} from "../../shared/domain/task.js";
import { escalationDue } from "../../shared/app/escalateTasks.js";
import { retryDelaySeconds } from "../../shared/app/deliverTask.js";
import { parseTenantProfile } from "../../shared/domain/tenant.js";
import { blindWindow, controlSummary, finding, huntQuery } from "../support/taskWorld.js";

const A = "aaaaaaaa-0000-4000-8000-000000000001";
const B = "bbbbbbbb-0000-4000-8000-000000000002";
const window = blindWindow(A);

function input(overrides: Partial<TaskContentInput> = {}): TaskContentInput {
  return {
    tenant: { tenantId: A, name: "Contoso" },
    window,
    notices: [{ key: "manual~PIR-1", title: "Post Incident Review – partially incomplete security logs" }],
    controls: [controlSummary(window, "signin-review", "running"), controlSummary(window, "preserve", "planned")],
    findings: [],
    huntQueries: [huntQuery(1, window)],
    ...overrides,
  };
}

describe("task ids", () => {
  it("are {tenant}.{window}, deterministic and parsed back; anything else is refused", () => {
    const id = taskId(A.toUpperCase(), window.windowId);
    expect(id).toBe(`${A}.${window.windowId}`);
    expect(taskId(A, window.windowId)).toBe(id);
    expect(parseTaskId(id)).toEqual({ tenantId: A, windowKey: window.windowId });
    for (const bad of ["", A, `${A}.`, `not-a-guid.${window.windowId}`, `${A}.w/../x`, `${A}.w?x=1`, `${A}.${"w".repeat(101)}`]) expect(parseTaskId(bad), bad).toBeUndefined();
  });

  it("derive stable GUID-shaped checklist ids and a Planner marker per task", () => {
    const id = checklistItemId(taskId(A, "w1"), "confirm");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(checklistItemId(taskId(A, "w1"), "confirm")).toBe(id);
    expect(checklistItemId(taskId(A, "w1"), "findings")).not.toBe(id);
    expect(checklistItemId(taskId(B, "w1"), "confirm")).not.toBe(id);
    expect(plannerMarker(taskId(A, "w1"))).toMatch(/^\[bw:[0-9a-f]{12}\]$/);
    expect(plannerMarker(taskId(A, "w1"))).not.toBe(plannerMarker(taskId(A, "w2")));
  });
});

describe("buildTaskContent", () => {
  it("says what happened, what is being done and by when, with a checklist", () => {
    const c = buildTaskContent(input());
    expect(c.title).toBe("Blind window: Microsoft Entra sign-in logs lost, 2024-09-02 23:00 UTC – 2024-09-19 00:00 UTC — Contoso");
    expect(c.summary).toContain("Review by 2024-10-02 23:00 UTC");
    expect(c.sections.map((s) => s.heading)).toEqual(["What happened", "What is being done", "Findings", "Hunt queries", "Review deadline"]);
    expect(c.sections[0]?.lines).toContain("Notice manual~PIR-1: Post Incident Review – partially incomplete security logs");
    // The review's pass preserves as it reads: the preserve control says so rather than "planned".
    expect(c.sections[1]?.lines).toEqual([expect.stringMatching(/^signin-review: running: 1200 records read/), "preserve: preserved by signin-review as it reads"]);
    const reading = controlSummary(window, "signin-review", "running");
    const along = buildTaskContent(input({ controls: [{ ...reading, coverage: { ...reading.coverage, reviewedTo: "2024-09-10T06:00:00.000Z" } }, controlSummary(window, "preserve", "planned")] }));
    expect(along.sections[1]?.lines[1]).toBe("preserve: preserved by signin-review as it reads, up to 2024-09-10 06:00 UTC");
    // Planned with no review reading, it is planned.
    const idle = buildTaskContent(input({ controls: [controlSummary(window, "signin-review", "planned"), controlSummary(window, "preserve", "planned")] }));
    expect(idle.sections[1]?.lines).toEqual(["signin-review: planned", "preserve: planned"]);
    expect(c.checklist.map((i) => i.key)).toEqual(["findings", "hunt:hunt-1", "confirm"]);
    expect(c.checklist[0]?.title).toBe("Review the findings once the reviews finish");
    expect(c.controlsFinished).toBe(false);
    expect(c.window).toMatchObject({ source: "entra-signin", effect: "loss", reviewDeadline: window.reviewDeadline });
  });

  it("an open window says ongoing; a delay says late", () => {
    const c = buildTaskContent(input({ window: { ...window, end: null, status: "confirmed", effect: "delay" } }));
    expect(c.title).toContain("delayed, 2024-09-02 23:00 UTC – ongoing");
    expect(c.summary).toContain("arrived late");
    expect(c.summary).toContain("still open");
    // Its reviews will read it again once the delay is over: the task says so (a loss window's does not).
    expect(c.sections[1]?.lines.at(-1)).toBe("Graph lists this window's records late: its reviews read it again, whole, once the delay is over.");
    const closed = buildTaskContent(input({ window: { ...window, end: "2024-09-19T00:00:00.000Z", effect: "delay" } }));
    expect(closed.sections[1]?.lines.at(-1)).toBe("Graph lists this window's records late: its reviews read it again, whole, once the delay is over (after 2024-09-19 00:00 UTC).");
    expect(buildTaskContent(input()).sections[1]?.lines.join("\n")).not.toContain("read it again");
  });

  it("summarises findings once the controls finish: counts by severity, the five most severe, evidence", () => {
    const findings = [
      finding(window, 1, { severity: "medium" }),
      finding(window, 2),
      finding(window, 3, { severity: "low" }),
      ...Array.from({ length: 6 }, (_, i) => finding(window, 10 + i)),
    ];
    const c = buildTaskContent(
      input({
        controls: [
          controlSummary(window, "signin-review", "done", { findings: 9 }),
          controlSummary(window, "preserve", "done", { evidence: { manifestPath: "evidence/a/w/manifest.json", blobs: 3, records: 1200 } }),
        ],
        findings,
      }),
    );
    expect(c.controlsFinished).toBe(true);
    expect(c.findings.total).toBe(9);
    expect(c.findings.bySeverity).toEqual({ informational: 0, low: 1, medium: 1, high: 7 });
    expect(c.findings.top).toHaveLength(5);
    expect(c.findings.top.every((f) => f.severity === "high")).toBe(true);
    expect(c.checklist.map((i) => i.key)).toEqual(["findings", "evidence", "hunt:hunt-1", "confirm"]);
    expect(c.checklist[0]?.title).toBe("Review 9 findings (7 high, 1 medium)");
    expect(c.sections.find((s) => s.heading === "Evidence")?.lines).toEqual(["1200 records preserved in 3 blobs; manifest evidence/a/w/manifest.json"]);
  });

  it("keeps Planner's limits: at most 20 checklist items of at most 100 characters, the last one to confirm", () => {
    const hunts = Array.from({ length: 30 }, (_, i) => ({ ...huntQuery(i, window), title: `A very long hunt title that goes on and on about sign-ins ${"x".repeat(120)} ${String(i)}` }));
    const c = buildTaskContent(input({ huntQueries: hunts }));
    expect(c.checklist).toHaveLength(PLANNER_LIMITS.checklistItems);
    expect(c.checklist.every((i) => i.title.length <= PLANNER_LIMITS.checklistTitleChars)).toBe(true);
    expect(c.checklist.at(-1)?.key).toBe("confirm");
    expect(c.checklist.at(-2)).toEqual({ key: "hunt:rest", title: "Run the other 13 hunt queries (KQL in the task notes)" });
    expect(c.huntQueries).toHaveLength(30); // every query stays in the notes and the e-mail
    expect(c.title.length).toBeLessThanOrEqual(200);
  });

  it("drops findings of another tenant or window, whatever the caller passes", () => {
    const other = blindWindow(B);
    const c = buildTaskContent(input({ findings: [finding(window, 1), finding(other, 2), finding({ ...window, windowId: "wother" }, 3)] }));
    expect(c.findings.total).toBe(1);
    expect(JSON.stringify(c)).not.toContain(B);
  });

  it("announces only what matters: progress changes the content hash, not the announcement", () => {
    const running = buildTaskContent(input());
    const further = buildTaskContent(input({ controls: [controlSummary(window, "signin-review", "running", { recordsRead: { "signIns:v1.0": 5000 } }), controlSummary(window, "preserve", "planned")] }));
    expect(taskContentHash(further)).not.toBe(taskContentHash(running));
    expect(announcementHash(further)).toBe(announcementHash(running));
    const finished = buildTaskContent(input({ controls: [controlSummary(window, "signin-review", "done"), controlSummary(window, "preserve", "done")] }));
    expect(announcementHash(finished)).not.toBe(announcementHash(running));
    const moved = buildTaskContent(input({ window: { ...window, end: "2024-09-20T00:00:00.000Z" } }));
    expect(announcementHash(moved)).not.toBe(announcementHash(running));
  });

  it("delivery hashes: Planner follows the status, Teams and e-mail the announcement, escalations the deadline", () => {
    const c = buildTaskContent(input());
    const task = { contentHash: taskContentHash(c), announcementHash: announcementHash(c), status: "open" as const, dueDate: window.reviewDeadline };
    const acked = { ...task, status: "acknowledged" as const };
    expect(deliveryHash(acked, "planner")).not.toBe(deliveryHash(task, "planner"));
    expect(deliveryHash(acked, "teams")).toBe(deliveryHash(task, "teams"));
    expect(deliveryHash(acked, "email")).toBe(deliveryHash(task, "email"));
    expect(deliveryHash({ ...task, dueDate: "2024-10-03T00:00:00.000Z" }, "warn-72h")).not.toBe(deliveryHash(task, "warn-72h"));
    expect(deliveryHash(task, "warn-72h")).not.toBe(deliveryHash(task, "warn-24h"));
  });
});

describe("watchdog content", () => {
  it("names the component, its last beat and what to check; recovery closes the window", () => {
    const base = { tenant: { tenantId: A, name: "Operator" }, component: "sweeper", role: "sweeps", lastBeat: "2024-09-20T12:00:00.000Z", expectedEverySeconds: 300, dueDate: "2024-09-21T12:00:00.000Z" };
    const stale = buildWatchdogContent({ ...base, recoveredAt: null });
    expect(stale.kind).toBe("watchdog");
    expect(stale.title).toBe("Blindwindow itself: sweeper stopped at 2024-09-20 12:00 UTC — Operator");
    expect(stale.summary).toContain("still silent");
    expect(stale.window).toMatchObject({ windowId: "watchdog-sweeper-202409201200", end: null, effect: "outage" });
    const back = buildWatchdogContent({ ...base, recoveredAt: "2024-09-20T13:00:00.000Z" });
    expect(back.summary).toContain("beat again at 2024-09-20 13:00 UTC");
    expect(announcementHash(back)).not.toBe(announcementHash(stale));
    expect(watchdogWindowKey("serviceHealthPoll", "2024-09-20T12:00:00.000Z")).toBe("watchdog-serviceHealthPoll-202409201200");
    expect(parseTaskId(taskId(A, watchdogWindowKey("serviceHealthPoll", "2024-09-20T12:00:00.000Z")))).toBeDefined();
  });
});

describe("escalation and back-off rules", () => {
  const now = new Date("2024-10-01T00:00:00Z");
  const due = (hours: number) => ({ kind: "window" as const, dueDate: new Date(now.getTime() + hours * 3_600_000).toISOString() });
  it("warns at 72 h and 24 h before the deadline and escalates after it", () => {
    expect(escalationDue(due(73), now)).toBeUndefined();
    expect(escalationDue(due(72), now)).toBe("warn-72h");
    expect(escalationDue(due(25), now)).toBe("warn-72h");
    expect(escalationDue(due(24), now)).toBe("warn-24h");
    expect(escalationDue(due(0.1), now)).toBe("warn-24h");
    expect(escalationDue(due(0), now)).toBe("overdue");
    expect(escalationDue({ ...due(10), kind: "watchdog" }, now)).toBeUndefined();
    expect(escalationDue({ ...due(-1), kind: "watchdog" }, now)).toBe("overdue");
  });

  it("backs off exponentially with bounded jitter, capped at two hours", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, "t/teams"));
    const bases = [30, 120, 480, 1920, 7200, 7200, 7200];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(Math.floor((bases[i] ?? 0) * 0.8));
      expect(d).toBeLessThanOrEqual(Math.ceil((bases[i] ?? 0) * 1.2));
    });
    expect(retryDelaySeconds(2, "t/teams")).toBe(delays[1]);
  });
});

describe("tenant contacts: the Teams workflow URL", () => {
  const profile = (teamsWorkflowUrl: string) => ({
    tenantId: A,
    name: "Contoso",
    subscriptions: [],
    regions: [],
    logSources: ["entra-signin"],
    licence: "p2",
    onboardedAt: "2024-01-01T00:00:00Z",
    contacts: { emails: ["soc@contoso.example"], teamsWorkflowUrl },
  });
  it("is https on a domain, or http on this machine only (the local simulator's hooks)", () => {
    for (const ok of ["https://prod-27.westeurope.logic.azure.com:443/workflows/1", "http://127.0.0.1:7000/workflows/t/h", "http://localhost:1/workflows/t/h"]) {
      expect(parseTenantProfile(profile(ok)).ok, ok).toBe(true);
    }
    for (const bad of ["http://prod-27.westeurope.logic.azure.com/workflows/1", "http://127.0.0.1.evil.example/workflows", "https://10.0.0.1/workflows", "ftp://localhost/x", "not a url"]) {
      expect(parseTenantProfile(profile(bad)), bad).toEqual({ ok: false, errors: ["contacts.teamsWorkflowUrl: must be an https URL"] });
    }
  });
});
