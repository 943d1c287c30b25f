import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "@azure/storage-queue";
import { startEmbeddedStack, type EmbeddedStack } from "../../local/embeddedStack.js";
import { createServices, type Services } from "../../shared/runtime.js";
import { loadSettings } from "../../shared/config.js";
import { commonAlert, fixtureText } from "../support/fixtures.js";

let stack: EmbeddedStack;
let services: Services;

beforeAll(async () => {
  stack = await startEmbeddedStack();
  services = createServices(loadSettings({ AzureWebJobsStorage: stack.connectionString }));
});
afterAll(async () => {
  await stack.close();
});

function url(route: string): string {
  return `${stack.host.url}/api/${route}`;
}

async function postJson(route: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(route), { method: "POST", headers: { "content-type": "application/json", "x-functions-key": stack.functionKey, ...headers }, body });
}

describe("function discovery", () => {
  it("finds every function file's registration, with the bindings Azure would receive", () => {
    const byName = Object.fromEntries(stack.host.functions.map((f) => [f.name, f.trigger]));
    expect(byName.noticeWebhook).toMatchObject({ type: "httpTrigger", route: "notices/azure-monitor", methods: ["POST"], authLevel: "function" });
    expect(byName.noticeSubmit).toMatchObject({ type: "httpTrigger", route: "notices", methods: ["POST"] });
    expect(byName.noticeProcess).toMatchObject({ type: "queueTrigger", queueName: "notices", connection: "AzureWebJobsStorage" });
    expect(byName.sweeper).toMatchObject({ type: "timerTrigger", schedule: "0 */5 * * * *" });
    expect(byName.health).toMatchObject({ type: "httpTrigger", route: "health", methods: ["GET"] });
  });
});

describe("every HTTP route is authenticated", () => {
  it("walks the route list: no key or a wrong key → 401 problem+json; the right key gets through", async () => {
    const routes = stack.host.functions.filter((f) => f.trigger.type === "httpTrigger");
    expect(routes.length).toBeGreaterThanOrEqual(3);
    for (const fn of routes) {
      expect(fn.trigger.authLevel, `${fn.name} must not be anonymous`).not.toBe("anonymous");
      const method = fn.trigger.methods?.[0] ?? "GET";
      const path = (fn.trigger.route ?? fn.name).replace(/\{[^}]+\}/g, "x");
      const attempt = (headers: Record<string, string>, query = ""): Promise<Response> =>
        fetch(`${url(path)}${query}`, { method, headers: { "content-type": "application/json", ...headers }, ...(method === "GET" ? {} : { body: "{}" }) });
      for (const response of [await attempt({}), await attempt({ "x-functions-key": "wrong" }), await attempt({}, "?code=wrong")]) {
        expect(response.status, `${fn.name} without a valid key`).toBe(401);
        expect(response.headers.get("content-type")).toBe("application/problem+json");
      }
      expect((await attempt({ "x-functions-key": stack.functionKey })).status, `${fn.name} with the key`).not.toBe(401);
      expect((await attempt({}, `?code=${encodeURIComponent(stack.functionKey)}`)).status).not.toBe(401);
    }
  });

  it("answers unknown routes and wrong methods with problem+json", async () => {
    expect((await fetch(url("nothing-here"))).status).toBe(404);
    const wrongMethod = await fetch(url("notices/azure-monitor"), { method: "GET", headers: { "x-functions-key": stack.functionKey } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("intake through the local host", () => {
  it("accepts the documented sample (202) and the queue trigger processes it", async () => {
    const response = await postJson("notices/azure-monitor", fixtureText("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json"));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ noticeKey: "azure-monitor~0NIH-U2O", revision: "636439673646212912~Active", duplicate: false });
    await stack.host.idle();
    expect((await services.notices.getNotice("azure-monitor", "0NIH-U2O"))?.state).toBe("processed");
  });

  it("processes many concurrent deliveries, each exactly once in the ledger", async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => JSON.stringify(commonAlert({ trackingId: `E2E-${i % 10}`, communicationId: String(i % 20) })));
    const responses = await Promise.all(bodies.map((b) => postJson("notices/azure-monitor", b)));
    expect(responses.map((r) => r.status)).toEqual(bodies.map(() => 202));
    await stack.host.idle();
    for (let i = 0; i < 10; i++) expect((await services.notices.getNotice("azure-monitor", `E2E-${i}`))?.state).toBe("processed");
    let revisions = 0;
    for (let i = 0; i < 10; i++) for await (const _ of services.notices.listRevisions("azure-monitor", `E2E-${i}`)) revisions++;
    expect(revisions).toBe(20);
  });
});

describe("queue semantics as in Azure Functions", () => {
  it("retries a message the worker cannot decode and moves it to notices-poison after maxDequeueCount (5) attempts", async () => {
    const before = stack.host.stats();
    const notices = new QueueClient(stack.connectionString, "notices");
    await notices.sendMessage("%%% not base64 %%%");
    await stack.host.idle();
    const poison = new QueueClient(stack.connectionString, "notices-poison");
    const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
    expect(peekedMessageItems.map((m) => m.messageText)).toContain("%%% not base64 %%%");
    const after = stack.host.stats();
    expect(after.failures - before.failures).toBe(5);
    expect(after.poisoned - before.poisoned).toBe(1);
  });

  it("runs timer functions (the sweeper beats)", async () => {
    await stack.host.runTimer("sweeper");
    const beats = await services.heartbeats.list();
    expect(beats.map((b) => b.component)).toContain("sweeper");
  });
});
