import { afterEach, describe, expect, it } from "vitest";
import { GraphError } from "@microsoft/microsoft-graph-client";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { simulatorGraphClient } from "../../local/graphSimulator/simulatorGraphClient.js";
import { simulatorToken } from "../../local/graphSimulator/simulatorToken.js";

const small = { seed: 3, days: 2, tenants: [{ displayName: "Contoso", users: 4 }, { displayName: "Fabrikam", users: 4 }] } as const;
let sim: GraphSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A fake monotonic clock so window arithmetic does not depend on machine speed. */
function fakeClock() {
  let now = 1_000;
  return { read: () => now, advance: (ms: number) => (now += ms) };
}

async function get(s: GraphSimulator, tenantId: string, path: string): Promise<Response> {
  return fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${simulatorToken(tenantId)}` } });
}

describe("Graph simulator throttling", () => {
  it("lets 5 reports requests per 10 s through per tenant, then 429 with Retry-After", async () => {
    const clock = fakeClock();
    sim = await startGraphSimulator({ ...small, monotonicClock: clock.read });
    const [a, b] = sim.tenants.map((t) => t.id);
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await get(sim, a ?? "", "/v1.0/auditLogs/signIns?$top=1");
      statuses.push(res.status);
      retryAfter.push(res.headers.get("retry-after"));
      if (res.status === 429) expect(await res.json()).toMatchObject({ error: { code: "TooManyRequests" } });
      clock.advance(500);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // First request at t=0 leaves the window at t=10 s: 7.5 s and 7 s later, rounded up to whole seconds.
    expect(retryAfter.slice(5)).toEqual(["8", "7"]);
    // Directory audits share the reports budget; another tenant has its own.
    expect((await get(sim, a ?? "", "/v1.0/auditLogs/directoryAudits?$top=1")).status).toBe(429);
    expect((await get(sim, b ?? "", "/v1.0/auditLogs/directoryAudits?$top=1")).status).toBe(200);
    clock.advance(7_000);
    expect((await get(sim, a ?? "", "/v1.0/auditLogs/signIns?$top=1")).status).toBe(200);
    expect(sim.requests.filter((r) => r.throttled).map((r) => r.throttled)).toEqual(Array(3).fill("reports: 5 requests per 10 s per tenant"));
  });

  it("applies the global reports limit of 122 per 10 s across tenants", async () => {
    const clock = fakeClock();
    const tenants = Array.from({ length: 26 }, (_, i) => ({ displayName: `T${i}`, users: 2, attacks: [] }));
    sim = await startGraphSimulator({ seed: 1, days: 1, tenants, monotonicClock: clock.read });
    let ok = 0;
    let throttled = 0;
    for (const tenant of sim.tenants) {
      for (let i = 0; i < 5; i++) {
        const res = await get(sim, tenant.id, "/v1.0/auditLogs/signIns?$top=1&$select=id");
        if (res.status === 200) ok++;
        else if (res.status === 429) throttled++;
      }
    }
    expect([ok, throttled]).toEqual([122, 8]);
    expect(sim.requests.find((r) => r.status === 429)?.throttled).toBe("reports: 122 requests per 10 s across tenants");
  });

  it("throttles Identity Protection at 1 request per second per tenant with no Retry-After", async () => {
    const clock = fakeClock();
    sim = await startGraphSimulator({ ...small, monotonicClock: clock.read });
    const tenant = sim.tenants[0]?.id ?? "";
    const client = simulatorGraphClient(sim.url, tenant);
    await client.api("/identityProtection/riskDetections").get();
    let error: unknown;
    try {
      await client.api("/identityProtection/riskDetections").get();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).statusCode).toBe(429);
    expect((error as GraphError).headers?.get("retry-after")).toBeNull();
    clock.advance(1_000);
    expect((await get(sim, tenant, "/v1.0/identityProtection/riskDetections")).status).toBe(200);
  });

  it("limits service communications to 240 per minute per tenant", async () => {
    const clock = fakeClock();
    sim = await startGraphSimulator({ ...small, monotonicClock: clock.read });
    const tenant = sim.tenants[0]?.id ?? "";
    const statuses: number[] = [];
    for (let i = 0; i < 241; i++) statuses.push((await get(sim, tenant, "/v1.0/admin/serviceAnnouncement/issues?$top=1")).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(240);
    expect(statuses.at(-1)).toBe(429);
  });

  it("shortens windows with timeScale (real clock) and can be turned off", async () => {
    sim = await startGraphSimulator({ ...small, timeScale: 100 });
    const tenant = sim.tenants[0]?.id ?? "";
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1")).status);
    const throttled = await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1");
    // Some of these requests may fall into the next 100 ms window on a slow machine, but never more than 5 per window.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    if (throttled.status === 429) {
      expect(throttled.headers.get("retry-after")).toBe("1");
      expect(Number(throttled.headers.get("x-ms-retry-after-ms"))).toBeLessThanOrEqual(100);
    }
    await new Promise((r) => setTimeout(r, 120));
    expect((await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1")).status).toBe(200);
    await sim.close();

    sim = await startGraphSimulator({ ...small, throttling: false });
    const id = sim.tenants[0]?.id ?? "";
    const all: number[] = [];
    for (let i = 0; i < 12; i++) all.push((await get(sim, id, "/v1.0/auditLogs/signIns?$top=1")).status);
    expect(all.every((s) => s === 200)).toBe(true);
  });
});

describe("Graph simulator fault injection", () => {
  it("injects every configured kind at rate 1, deterministically by seed", async () => {
    sim = await startGraphSimulator({ ...small, throttling: false, faults: { rate: 1, kinds: ["503", "500", "429"], seed: 5 } });
    const tenant = sim.tenants[0]?.id ?? "";
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1")).status);
    expect(new Set(statuses)).toEqual(new Set([503, 500, 429]));
    const faults = sim.requests.map((r) => r.fault);
    await sim.close();
    sim = await startGraphSimulator({ ...small, throttling: false, faults: { rate: 1, kinds: ["503", "500", "429"], seed: 5 } });
    for (let i = 0; i < 30; i++) await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1");
    expect(sim.requests.map((r) => r.fault)).toEqual(faults);
  });

  it("injects faults at about the configured rate and leaves writes alone by default", async () => {
    sim = await startGraphSimulator({ ...small, throttling: false, faults: { rate: 0.3, kinds: ["503"], seed: 9 } });
    const tenant = sim.tenants[0]?.id ?? "";
    let faulted = 0;
    for (let i = 0; i < 200; i++) if ((await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1&$select=id")).status === 503) faulted++;
    expect(faulted).toBeGreaterThan(35);
    expect(faulted).toBeLessThan(85);
    const mail = await fetch(`${sim.url}/v1.0/users/x/sendMail`, {
      method: "POST",
      headers: { authorization: `Bearer ${simulatorToken(tenant)}`, "content-type": "application/json" },
      body: JSON.stringify({ message: { toRecipients: [{ emailAddress: { address: "a@b.c" } }] } }),
    });
    expect(mail.status).toBe(202);
  });

  it("drops connections, sends malformed pages, 429 storms and slow pages", async () => {
    sim = await startGraphSimulator({ ...small, throttling: false, faults: { rate: 0, kinds: [], slowMs: 150 } });
    const tenant = sim.tenants[0]?.id ?? "";
    const client = simulatorGraphClient(sim.url, tenant);

    sim.injectFault("drop");
    let dropped: unknown;
    try {
      await client.api("/auditLogs/signIns").top(5).get();
    } catch (e) {
      dropped = e;
    }
    expect(dropped).toBeDefined();
    expect(sim.requests.at(-1)).toMatchObject({ fault: "drop", status: 0 });

    sim.injectFault("malformed");
    const malformed = await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=5");
    expect(malformed.status).toBe(200);
    const text = await malformed.text();
    expect(text.startsWith('{"@odata.context"')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);

    sim.injectFault("slow");
    const started = performance.now();
    expect((await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    // A storm: the Graph client's RetryHandler retries 429s (Retry-After: 1) and gets through after three.
    sim.injectFault("429", 3);
    const retrying = simulatorGraphClient(sim.url, tenant, { retries: 3 });
    const page = (await retrying.api("/auditLogs/signIns").top(1).get()) as { value: unknown[] };
    expect(page.value).toHaveLength(1);
    expect(sim.requests.slice(-4).map((r) => r.status)).toEqual([429, 429, 429, 200]);
  }, 20_000);

  it("adds page latency to list pages", async () => {
    sim = await startGraphSimulator({ ...small, throttling: false, latencyMs: 120 });
    const tenant = sim.tenants[0]?.id ?? "";
    const started = performance.now();
    await get(sim, tenant, "/v1.0/auditLogs/signIns?$top=1");
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });
});
