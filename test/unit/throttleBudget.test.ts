import { describe, expect, it } from "vitest";
import { GRAPH_LIMITS, ThrottleBudget, graphApiFamily, type GraphApiFamily } from "../../shared/adapters/graph/throttleBudget.js";

/** A fake clock whose sleeps resolve when the test advances time past them, in time order. */
class FakeTime {
  now = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ at: this.now + ms, resolve });
    });

  /** Runs timers until none is left before `until` (or none at all). */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
    this.now = Math.max(this.now, until);
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function budget(time: FakeTime, timeScale = 1, margin = 0, marginMs = 0): ThrottleBudget {
  return new ThrottleBudget({ now: () => time.now, sleep: time.sleep, timeScale, margin, marginMs });
}

/** Starts `n` acquires and records when each was granted. */
function acquireMany(b: ThrottleBudget, time: FakeTime, n: number, tenant: string, family: GraphApiFamily): number[] {
  const granted: number[] = [];
  for (let i = 0; i < n; i++) {
    void b.acquire(tenant, family).then((permit) => {
      granted.push(time.now);
      permit.settle(); // an answer that arrives at once
    });
  }
  return granted;
}

/** Largest number of grants in any window of `windowMs` (half-open, as Graph counts). */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j < sorted.length && (sorted[j] ?? Infinity) < (sorted[i] ?? 0) + windowMs) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

describe("graphApiFamily", () => {
  it("maps Graph URLs to their throttling family", () => {
    expect(graphApiFamily("https://graph.microsoft.com/v1.0/auditLogs/signIns?$top=1")).toBe("reports");
    expect(graphApiFamily("https://graph.microsoft.com/beta/auditLogs/directoryAudits")).toBe("reports");
    expect(graphApiFamily("/identityProtection/riskDetections")).toBe("identityProtection");
    expect(graphApiFamily("https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/issues?$skip=100")).toBe("serviceCommunications");
    expect(graphApiFamily("https://graph.microsoft.com/v1.0/users/a/sendMail")).toBeUndefined();
  });
});

describe("ThrottleBudget (fake clock)", () => {
  it("lets a burst of 5 reports requests through per tenant, then one more per token returned 10 s later", async () => {
    const time = new FakeTime();
    const b = budget(time);
    const granted = acquireMany(b, time, 12, "t1", "reports");
    await time.runUntil(0);
    expect(granted).toEqual([0, 0, 0, 0, 0]);
    await time.runUntil(60_000);
    expect(granted).toEqual([0, 0, 0, 0, 0, 10_000, 10_000, 10_000, 10_000, 10_000, 20_000, 20_000]);
    expect(maxInWindow(granted, 10_000)).toBe(5);
  });

  it("never exceeds any limit in any window, per tenant and across tenants (reports: 122 per 10 s app-wide)", async () => {
    const time = new FakeTime();
    const b = budget(time);
    const byTenant = new Map<string, number[]>();
    for (let t = 0; t < 40; t++) byTenant.set(`t${String(t)}`, acquireMany(b, time, 8, `t${String(t)}`, "reports"));
    await time.runUntil(120_000);
    const all = [...byTenant.values()].flat();
    expect(all).toHaveLength(320);
    expect(maxInWindow(all, 10_000)).toBe(122);
    for (const times of byTenant.values()) expect(maxInWindow(times, 10_000)).toBeLessThanOrEqual(5);
    // Throughput: 320 requests at 122 per 10 s (and 5 per tenant) are through within three refills.
    expect(Math.max(...all)).toBeLessThanOrEqual(30_000);
  });

  it("spaces Identity Protection at 1 per second per tenant, tenants independent", async () => {
    const time = new FakeTime();
    const b = budget(time);
    const a = acquireMany(b, time, 4, "a", "identityProtection");
    const c = acquireMany(b, time, 2, "c", "identityProtection");
    await time.runUntil(10_000);
    expect(a).toEqual([0, 1000, 2000, 3000]);
    expect(c).toEqual([0, 1000]);
  });

  it("holds service communications to 240 per minute and 800 per hour per tenant", async () => {
    const time = new FakeTime();
    const b = budget(time);
    const granted = acquireMany(b, time, 1000, "t", "serviceCommunications");
    await time.runUntil(3_599_999);
    expect(granted.slice(0, 241).at(-1)).toBe(60_000);
    expect(b.usage("t", "serviceCommunications")).toEqual({
      "service communications: 240 requests per minute per tenant": 0,
      "service communications: 800 requests per hour per tenant": 800,
    });
    await time.runUntil(2 * 3_600_000);
    expect(granted).toHaveLength(1000);
    expect(maxInWindow(granted, 60_000)).toBe(240);
    expect(maxInWindow(granted, 3_600_000)).toBe(800);
    expect(granted.filter((t) => t < 3_600_000)).toHaveLength(800);
  });

  it("scales windows by timeScale and widens them by the margin", async () => {
    const time = new FakeTime();
    const b = budget(time, 100, 0.02, 25);
    expect(b.windowMs(GRAPH_LIMITS.reports[0] ?? { name: "", limit: 0, windowMs: 0, scope: "tenant" })).toBeCloseTo(127, 6);
    // Answers arrive at once here (acquireMany settles each permit): tokens count from them.
    const granted = acquireMany(b, time, 6, "t", "reports");
    await time.runUntil(1000);
    expect(granted.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(granted[5]).toBeCloseTo(127, 6);
    expect(new ThrottleBudget().windowMs({ name: "", limit: 1, windowMs: 1000, scope: "tenant" })).toBeCloseTo(1020, 6);
  });

  it("pauses a tenant's family after a 429 (Retry-After) for every caller, not other tenants", async () => {
    const time = new FakeTime();
    const b = budget(time);
    b.pause("a", "serviceCommunications", 5000);
    const a = acquireMany(b, time, 2, "a", "serviceCommunications");
    const c = acquireMany(b, time, 1, "c", "serviceCommunications");
    await time.runUntil(10_000);
    expect(a).toEqual([5000, 5000]);
    expect(c).toEqual([0]);
    expect(b.stats().waits).toBe(2);
  });

  it("counts a token from when its request reached Graph: the answer, or the arrival allowance after sending if sooner", async () => {
    const time = new FakeTime();
    const b = new ThrottleBudget({ now: () => time.now, sleep: time.sleep, margin: 0, arrivalMs: 300 });
    const granted: number[] = [];
    // A slow page: still in flight after 5 s, yet it reached Graph by 300 ms, so its token is back at 1,300 ms.
    const slow = await b.acquire("t", "identityProtection");
    const second = b.acquire("t", "identityProtection").then((p) => {
      granted.push(time.now);
      return p;
    });
    await time.runUntil(1_299);
    expect(granted).toEqual([]);
    await time.runUntil(5_000);
    expect(granted).toEqual([1_300]);
    slow.settle(); // a late answer does not hold the token longer
    (await second).settle();
    // A quick answer (100 ms after sending) brings the token back one window after it, before the allowance ends,
    // and wakes whoever waits for it.
    const quick = await b.acquire("u", "identityProtection");
    const sentAt = time.now;
    const third = b.acquire("u", "identityProtection").then((p) => {
      granted.push(time.now);
      return p;
    });
    await time.runUntil(sentAt + 100);
    quick.settle();
    await time.runUntil(sentAt + 3_000);
    expect(granted).toEqual([1_300, sentAt + 1_100]);
    (await third).settle();
  });

  it("scales the arrival allowance with the windows", async () => {
    const time = new FakeTime();
    const b = new ThrottleBudget({ now: () => time.now, sleep: time.sleep, margin: 0, timeScale: 10 });
    const granted: number[] = [];
    await b.acquire("t", "identityProtection"); // never answered
    void b.acquire("t", "identityProtection").then((p) => { granted.push(time.now); p.settle(); });
    await time.runUntil(1_000);
    expect(granted).toEqual([120]); // the default 200 ms ÷ 10, + 1 s ÷ 10
    // 200 ms ÷ 1000 would be 0.2 ms: the allowance never goes below 20 ms (an event loop's hiccup), + 1 ms of window.
    const fast = new ThrottleBudget({ now: () => time.now, sleep: time.sleep, margin: 0, timeScale: 1000 });
    const sentAt = time.now;
    await fast.acquire("t", "identityProtection");
    expect(fast.waitMs("t", "identityProtection", sentAt + 20)).toBeCloseTo(1, 6);
    expect(fast.waitMs("t", "identityProtection", sentAt + 21)).toBe(0);
  });

  it("refunds a refused request's tokens at once, waking whoever waits (the pause decides when to send again)", async () => {
    const time = new FakeTime();
    const b = new ThrottleBudget({ now: () => time.now, sleep: time.sleep, margin: 0 });
    const granted: number[] = [];
    const refused = await b.acquire("t", "identityProtection");
    const waiting = b.acquire("t", "identityProtection").then((p) => { granted.push(time.now); return p; });
    await time.runUntil(50);
    refused.settle(); // the 429 arrived…
    b.pause("t", "identityProtection", 400); // …with Retry-After
    refused.refund();
    await time.runUntil(2_000);
    expect(granted).toEqual([450]);
    (await waiting).settle();
  });

  it("refuses a non-positive timeScale", () => {
    expect(() => new ThrottleBudget({ timeScale: 0 })).toThrow(RangeError);
  });
});
