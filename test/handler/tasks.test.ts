import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import functions, { type HttpRequest as HttpRequestType } from "@azure/functions";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { registeredFunctions } from "../../local/functionRegistry.js";
import { taskAck, taskDone, tasksList } from "../../functions/tasks.js";
import "../../functions/taskDeliver.js";
import "../../functions/watchdog.js";
import { registerTasks } from "../../cli/commands/tasks.js";
import { runCli, type CliIo } from "../../cli/program.js";
import { refreshTask } from "../../shared/app/refreshTask.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { taskId } from "../../shared/domain/task.js";
import type { Services } from "../../shared/runtime.js";
import { taskDeps } from "../../shared/taskRuntime.js";
import { emptyAccount } from "../support/azurite.js";
import { tenantProfile } from "../support/builders.js";
import { bodyJson, context, expectProblem, getRequest, jsonRequest } from "../support/http.js";
import { ManualClock, testServices } from "../support/storage.js";
import { blindWindow, MemoryReviews } from "../support/taskWorld.js";

const { HttpRequest } = functions;
const A = "aaaaaaaa-0000-4000-8000-00000000000a";
const B = "bbbbbbbb-0000-4000-8000-00000000000b";
const BASE = "http://localhost/api/tasks";
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let azurite: EmbeddedAzurite;
let services: Services;
let clock: ManualClock;
let wa: BlindWindow;
let wb: BlindWindow;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite);
  clock = new ManualClock(new Date("2024-09-20T12:00:00Z"));
  ({ services } = testServices(azurite, {}, clock));
  await services.tenants.putMany([tenantProfile(A, "Contoso"), tenantProfile(B, "Fabrikam")], clock.now());
  wa = blindWindow(A, { windowId: "waaaaaaaaaaaaaaaa", reviewDeadline: "2024-10-05T00:00:00.000Z" });
  wb = blindWindow(B, { windowId: "wbbbbbbbbbbbbbbbb", reviewDeadline: "2024-10-02T00:00:00.000Z" });
  const reviews = new MemoryReviews();
  const deps = { ...taskDeps(services, silent), controlRuns: reviews, findings: reviews };
  for (const w of [wa, wb]) {
    await services.ledger.replaceWindows(w.tenantId, w.source, [w]);
    await refreshTask(deps, w.tenantId, w.windowId, clock.now());
  }
});

function post(id: string, action: "ack" | "done", body: unknown, headers: Record<string, string> = {}): HttpRequestType {
  const request = jsonRequest(`${BASE}/${encodeURIComponent(id)}/${action}`, body, headers);
  return new HttpRequest({ method: "POST", url: request.url, headers: Object.fromEntries(request.headers), body: { string: typeof body === "string" ? body : JSON.stringify(body) }, params: { id } });
}
const ack = (id: string, body: unknown, headers?: Record<string, string>) => taskAck(post(id, "ack", body, headers), context("taskAck"), services);
const done = (id: string, body: unknown) => taskDone(post(id, "done", body), context("taskDone"), services);
const list = (query = "") => tasksList(getRequest(`${BASE}${query}`), context("tasksList"), services);

describe("GET /api/tasks", () => {
  it("lists tasks soonest due first, by tenant and status", async () => {
    const all = bodyJson(await list()) as { tasks: { id: string; tenantId: string; status: string; dueDate: string; deliveries: unknown[] }[] };
    expect(all.tasks.map((t) => t.id)).toEqual([taskId(B, wb.windowId), taskId(A, wa.windowId)]);
    expect(all.tasks[0]).toMatchObject({ tenantId: B, status: "open", dueDate: wb.reviewDeadline, deliveries: [] });
    const onlyA = bodyJson(await list(`?tenant=${A.toUpperCase()}`)) as { tasks: { id: string }[] };
    expect(onlyA.tasks.map((t) => t.id)).toEqual([taskId(A, wa.windowId)]);
    expect((bodyJson(await list("?status=done")) as { tasks: unknown[] }).tasks).toEqual([]);
  });

  it("answers 400 problem+json naming each bad parameter", async () => {
    expect(expectProblem(await list("?status=closed&tenant=contoso"), 400).errors).toEqual(["tenant: must be a tenant id (GUID)", "status: must be one of open, acknowledged, done"]);
    expect(expectProblem(await list("?tennant=x"), 400).errors).toEqual(['(root): Unrecognized key: "tennant"']);
  });
});

describe("POST /api/tasks/{id}/ack and /done", () => {
  it("records who acknowledged and when; again changes nothing; done records who finished; ack after done is a conflict", async () => {
    const id = taskId(A, wa.windowId);
    const first = await ack(id, { by: "Ann Analyst <ann@contoso.example>" });
    expect(first.status).toBe(200);
    expect(bodyJson(first)).toMatchObject({ changed: true, task: { id, status: "acknowledged", acknowledgedBy: "Ann Analyst <ann@contoso.example>", acknowledgedAt: "2024-09-20T12:00:00.000Z" } });
    clock.advance(60_000);
    expect(bodyJson(await ack(id, { by: "Bob" }))).toMatchObject({ changed: false, task: { acknowledgedBy: "Ann Analyst <ann@contoso.example>", acknowledgedAt: "2024-09-20T12:00:00.000Z" } });
    const finished = await done(id, { by: "Bob", note: "checked: no sign-ins missing for this tenant" });
    expect(bodyJson(finished)).toMatchObject({ changed: true, task: { status: "done", doneBy: "Bob", doneAt: "2024-09-20T12:01:00.000Z", acknowledgedBy: "Ann Analyst <ann@contoso.example>", notes: [{ by: "Bob", text: "checked: no sign-ins missing for this tenant" }] } });
    expect(expectProblem(await ack(id, { by: "Carol" }), 409).title).toBe(`Task ${id} is already done (by Bob at 2024-09-20T12:01:00.000Z)`);
    expect(bodyJson(await done(id, { by: "Carol" }))).toMatchObject({ changed: false, task: { doneBy: "Bob" } });
    // B's task is untouched.
    expect((await services.tasks.get(B, taskId(B, wb.windowId)))?.task.status).toBe("open");
  });

  it("refuses bad input with 4xx problem+json and stores nothing", async () => {
    const id = taskId(A, wa.windowId);
    expect(expectProblem(await ack(id, {}), 400).errors).toEqual(["by: is required: who acknowledges (a name or e-mail address)"]);
    expect(expectProblem(await ack(id, { by: "   " }), 400).errors).toEqual(["by: must not be empty"]);
    expect(expectProblem(await ack(id, { by: "Ann\r\nInjected: yes" }), 400).errors).toEqual(["by: must not contain control characters"]);
    expect(expectProblem(await ack(id, { by: "Ann", when: "now" }), 400).errors).toEqual(['(root): Unrecognized key: "when"']);
    expect(expectProblem(await ack(id, { by: "x".repeat(257) }), 400).errors).toEqual(["by: must be at most 256 characters"]);
    expect(expectProblem(await ack(id, "{not json"), 400).title).toBe("Body is not valid JSON");
    expect(expectProblem(await ack(id, { by: "Ann" }, { "content-type": "text/plain" }), 415).title).toBe("Unsupported content type");
    expect(expectProblem(await ack("../etc/passwd", { by: "Ann" }), 400).errors).toEqual(['id: not a task id (expected {tenant id}.{window id}), got "../etc/passwd"']);
    expect(expectProblem(await ack(taskId(A, "wdoesnotexist0000"), { by: "Ann" }), 404).title).toBe(`No task ${taskId(A, "wdoesnotexist0000")}`);
    expect((await services.tasks.get(A, id))?.task.status).toBe("open");
  });

  it("are registered behind the host's function key, with the queue and timer workers", () => {
    const byName = Object.fromEntries(registeredFunctions().map((f) => [f.name, f.trigger]));
    expect(byName.tasksList).toMatchObject({ type: "httpTrigger", route: "tasks", methods: ["GET"], authLevel: "function" });
    expect(byName.taskAck).toMatchObject({ type: "httpTrigger", route: "tasks/{id}/ack", methods: ["POST"], authLevel: "function" });
    expect(byName.taskDone).toMatchObject({ type: "httpTrigger", route: "tasks/{id}/done", methods: ["POST"], authLevel: "function" });
    expect(byName.taskDeliver).toMatchObject({ type: "queueTrigger", queueName: "deliveries", connection: "AzureWebJobsStorage" });
    expect(byName.watchdog).toMatchObject({ type: "timerTrigger", schedule: "0 */10 * * * *" });
  });
});

describe("blindwindow tasks (CLI)", () => {
  const saved = process.env.AzureWebJobsStorage;
  beforeEach(() => {
    process.env.AzureWebJobsStorage = azurite.connectionString;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.AzureWebJobsStorage;
    else process.env.AzureWebJobsStorage = saved;
  });

  async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t) };
    const code = await runCli(["tasks", ...args], [registerTasks], io);
    return { code, out, err };
  }

  it("lists, acknowledges and finishes tasks", async () => {
    const id = taskId(A, wa.windowId);
    const listed = await cli(["list", "--tenant", A]);
    expect(listed.code).toBe(0);
    const lines = (listed.out[0] ?? "").split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+DUE\s+TENANT\s+TITLE\s+DELIVERIES$/);
    expect(lines[1]).toMatch(new RegExp(`^${id}\\s+open\\s+2024-10-05 00:00\\s+Contoso\\s+Blind window: Microsoft Entra sign-in logs lost`));
    expect(lines).toHaveLength(2);

    expect(await cli(["ack", id, "--by", "ann@contoso.example"])).toEqual({ code: 0, out: [`${id} is now acknowledged (by ann@contoso.example)`], err: [] });
    expect(await cli(["ack", id, "--by", "bob"])).toEqual({ code: 0, out: [`${id} was already acknowledged (by ann@contoso.example)`], err: [] });
    const finished = await cli(["done", id, "--by", "bob", "--json"]);
    expect(finished.code).toBe(0);
    expect(JSON.parse(finished.out.join(""))).toMatchObject({ id, status: "done", doneBy: "bob" });
    const json = JSON.parse((await cli(["list", "--status", "done", "--json"])).out.join("")) as { id: string }[];
    expect(json.map((t) => t.id)).toEqual([id]);
  });

  it("fails with one line and a non-zero exit", async () => {
    expect(await cli(["ack", "nope", "--by", "ann"])).toEqual({ code: 1, out: [], err: ['blindwindow: The task id is not valid: id: not a task id (expected {tenant id}.{window id}), got "nope"'] });
    expect(await cli(["done", taskId(A, "wdoesnotexist0000"), "--by", "ann"])).toEqual({ code: 1, out: [], err: [`blindwindow: No task ${taskId(A, "wdoesnotexist0000")}`] });
    expect(await cli(["list", "--status", "closed"])).toEqual({ code: 1, out: [], err: ["blindwindow: Invalid query: status: must be one of open, acknowledged, done"] });
    const missingBy = await cli(["ack", taskId(A, wa.windowId)]);
    expect(missingBy.code).not.toBe(0);
    expect(missingBy.err.join("\n")).toContain("--by");
  });
});
