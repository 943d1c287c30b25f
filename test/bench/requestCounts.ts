import { StorageCallCounter, type StorageCall } from "./storageCallCounter.js";
import { tenantProfile } from "../support/builders.js";
/**
 * Request counts: how many storage transactions (table + queue, by kind) and Graph requests each unit of work costs,
 * measured, for the cost model in docs/costs.md. Units: one Service Health notice through intake + noticeProcess
 * (1 and 3 matched tenants), one poller run (T = 1, 10, 50 tenants; first run and steady state), two sweeper runs,
 * one health check, and a minute of idle queue polling by the host.
 *
 * Storage requests are seen through node:http's `http.client.*` diagnostics channels (the Azure SDKs use node:http),
 * as in intake.ts; Graph requests are the Graph simulator's own request log (the Graph client uses fetch, which those
 * channels do not see). Nothing in the code under test is changed or mocked.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { TableClient } from "@azure/data-tables";
import { startEmbeddedStack, startStackWithAzuriteProcess, type Stack } from "../../local/embeddedStack.js";
import type { AzuriteService } from "../../local/azurite.js";
import { startLocalHost } from "../../local/localHost.js";
import { startGraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { pollServiceHealth } from "../../shared/app/pollServiceHealth.js";
import { createLogger } from "../../shared/adapters/logger.js";
import { loadSettings } from "../../shared/config.js";
import { createServices } from "../../shared/runtime.js";
import type { BenchReport, BenchTable } from "./stats.js";

type BenchStack = Stack<{ connectionString: string; stop(): Promise<void>; port(service: AzuriteService): number }>;

export interface RequestCountOptions {
  quick: boolean;
  /** `embedded` (default): Azurite in this process. `process`: its own process. Counts do not depend on it. */
  azurite?: "process" | "embedded";
}

const FIXTURES = new URL("../fixtures/", import.meta.url);
const POLLER_TENANTS = [1, 10, 50] as const;
/** The stack's host must not poll on its own while a unit is measured: its pollers sleep this long unless woken. */
const PAUSED_POLL_MS = 3_600_000;
/** Idle polling is measured on a second host with host.json's timing (maxPollingInterval 2 s) for this long. */
const IDLE_SECONDS = { full: 60, quick: 20 };

const SUBSCRIPTION = {
  contoso: "/subscriptions/11111111-1111-1111-1111-111111111111",
  northwind: "/subscriptions/45529734-0ed9-4895-a0df-44b59a5a07f9",
  fabrikam: "/subscriptions/6a0b3c8d-2e1f-4a5b-8c7d-9e0f1a2b3c4d",
};

// ---- counting ----

type Call = StorageCall;

/** Calls the harness makes (host.idle() asks each queue for its length), not the code under test. */
const isHarness = (c: Call): boolean => c.kind.includes("?comp=metadata");

interface Tally {
  table: number;
  queue: number;
  /** Queue receives (GET <queue>/messages), empty or not: a host's polls. */
  receives: number;
  /** createIfNotExists on a queue (PUT <queue>): the local host does it before every receive, Azure's host does not. */
  queueCreates: number;
  byKind: Map<string, number>;
}

function tally(calls: readonly Call[]): Tally {
  const out: Tally = { table: 0, queue: 0, receives: 0, queueCreates: 0, byKind: new Map() };
  for (const c of calls) {
    if (isHarness(c)) continue;
    if (c.service === "table") out.table++;
    if (c.service === "queue") out.queue++;
    if (/^queue GET [^ ]+\/messages$/.test(c.kind)) out.receives++;
    if (/^queue PUT [^ /?]+$/.test(c.kind)) out.queueCreates++;
    out.byKind.set(c.kind, (out.byKind.get(c.kind) ?? 0) + 1);
  }
  return out;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Log lines and bytes written while a unit ran (what Application Insights would ingest as traces). */
class LogCapture {
  lines = 0;
  bytes = 0;
  readonly sink = (_level: string, line: string): void => {
    this.lines += 1;
    this.bytes += Buffer.byteLength(line);
  };
  take(): { lines: number; bytes: number } {
    const out = { lines: this.lines, bytes: this.bytes };
    this.lines = 0;
    this.bytes = 0;
    return out;
  }
}

// ---- units ----

interface UnitRow {
  unit: string;
  per: string;
  /** How many of `per` the row covers (the counts are divided by it). */
  units: number;
  tally: Tally;
  graph: number;
  ms: number;
  logs: { lines: number; bytes: number };
  detail: string;
}

function alertFor(file: string, trackingId: string, subscriptions: string[]): string {
  const body = JSON.parse(readFileSync(new URL(`incident-2024-09/${file}`, FIXTURES), "utf8")) as {
    data: { essentials: { alertTargetIDs: string[] }; alertContext: { properties: Record<string, unknown> } };
  };
  body.data.essentials.alertTargetIDs = subscriptions;
  body.data.alertContext.properties.trackingId = trackingId;
  return JSON.stringify(body);
}


export async function runRequestCountBench(options: RequestCountOptions): Promise<BenchReport> {
  const startedAt = performance.now();
  const mode = options.azurite ?? "embedded";
  const logs = new LogCapture();
  const hostLog = (level: string, message: string): void => { logs.sink(level, message); };
  const stackOptions = { host: { timers: false, queue: { minPollMs: PAUSED_POLL_MS, maxPollMs: PAUSED_POLL_MS } }, log: hostLog };
  const stack: BenchStack = mode === "process" ? await startStackWithAzuriteProcess(stackOptions) : await startEmbeddedStack(stackOptions);
  const counter = new StorageCallCounter(stack.azurite);
  const rows: UnitRow[] = [];
  const notes: string[] = [];
  const api = async (method: string, route: string, body?: string): Promise<Response> => {
    const response = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers: { "content-type": "application/json", "x-functions-key": stack.functionKey },
      ...(body === undefined ? {} : { body }),
    });
    return response;
  };
  /** Runs `work`, returning what it cost: storage calls, wall time and log output. */
  const measure = async <T>(work: () => Promise<T>): Promise<{ value: T; tally: Tally; ms: number; logs: { lines: number; bytes: number } }> => {
    await delay(100); // a receive that the last host.idle() woke lands before the unit, not in it
    counter.take();
    logs.take();
    const t0 = performance.now();
    const value = await work();
    const ms = performance.now() - t0;
    await delay(20); // let responses that finished with the work reach the counter
    return { value, tally: tally(counter.take()), ms, logs: logs.take() };
  };

  try {
    // The host's pollers each made one receive at start and now sleep for an hour; nothing else polls.
    await stack.host.idle(60_000);

    // (a) tenant import, then one Service Health notice through intake + processing, for 1 and for 3 matched tenants.
    const tenantsFile = readFileSync(new URL("tenants/tenants.json", FIXTURES), "utf8");
    const imported = await measure(async () => {
      const response = await api("PUT", "tenants", tenantsFile);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`tenant import answered ${String(response.status)}`);
    });
    rows.push({ unit: "tenant import (PUT /api/tenants, 3 tenants, 6 subscriptions)", per: "import", units: 1, tally: imported.tally, graph: 0, ms: imported.ms, logs: imported.logs, detail: "one-off per onboarding" });

    const cases = [
      { label: "1 matched tenant", subscriptions: [SUBSCRIPTION.contoso], tenants: 1 },
      { label: "3 matched tenants", subscriptions: [SUBSCRIPTION.contoso, SUBSCRIPTION.northwind, SUBSCRIPTION.fabrikam], tenants: 3 },
    ];
    for (const c of cases) {
      const trackingId = `BENCH-${String(c.tenants)}T-${Date.now().toString(36)}`;
      const body = alertFor("01-active.json", trackingId, c.subscriptions);
      const intake = await measure(async () => {
        const response = await api("POST", "notices/azure-monitor", body);
        const text = await response.text();
        if (response.status !== 202) throw new Error(`intake answered ${String(response.status)}: ${text}`);
      });
      const processing = await measure(() => stack.host.idle(120_000));
      const list = await api("GET", "notices");
      const notices = ((await list.json()) as { notices?: { id?: string; tenants?: unknown[]; outcome?: { tenants?: unknown[] } }[] }).notices ?? [];
      const stored = notices.find((n) => JSON.stringify(n).includes(trackingId));
      const matched = JSON.stringify(stored ?? {}).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
      const detail = `${String(new Set(matched).size)} tenant id(s) on the processed notice (expected ${String(c.tenants)})`;
      rows.push({ unit: `notice intake (POST, 202), ${c.label}`, per: "notice", units: 1, tally: intake.tally, graph: 0, ms: intake.ms, logs: intake.logs, detail: "revision + pending mark in one transaction, then enqueue" });
      rows.push({ unit: `notice processing (noticeProcess), ${c.label}`, per: "notice", units: 1, tally: processing.tally, graph: 0, ms: processing.ms, logs: processing.logs, detail });
    }

    // (b) the poller against the Graph simulator, T tenants; first run (reads everything) and a steady-state run.
    const tenantsTable = TableClient.fromConnectionString(stack.connectionString, "Tenants", { allowInsecureConnection: true });
    for (const tenantCount of POLLER_TENANTS) {
      const sim = await startGraphSimulator({
        seed: `costs-${String(tenantCount)}`,
        days: 1,
        tenants: Array.from({ length: tenantCount }, (_, i) => ({ displayName: `Tenant ${String(i)}`, users: 2 })),
      });
      try {
        // The registry holds exactly these tenants (setup, not counted).
        for await (const e of tenantsTable.listEntities()) await tenantsTable.deleteEntity(e.partitionKey ?? "", e.rowKey ?? "");
        const logger = createLogger(logs.sink, "info");
        const services = { ...createServices(loadSettings({ AzureWebJobsStorage: stack.connectionString, BLINDWINDOW_GRAPH_BASE_URL: sim.url }), { logger }), logger };
        await services.tenants.putMany(sim.tenants.map((t, i) => tenantProfile(t.id, `Tenant ${String(i)}`)), new Date());
        const issues = sim.dataset.serviceIssues();
        const unresolved = issues.filter((i) => !i.isResolved).length;
        for (const run of ["first run", "steady state"] as const) {
          const graphBefore = sim.requests.length;
          // The use case the timer function runs (importing functions/ here would register them before the host's shim).
          const polled = await measure(() => pollServiceHealth(services));
          const graph = sim.requests.length - graphBefore;
          const failed = polled.value.tenants.filter((t) => t.outcome !== "polled").length;
          if (failed > 0) throw new Error(`poller: ${String(failed)} of ${String(tenantCount)} tenants not polled`);
          const stored = polled.value.tenants.reduce((n, t) => n + t.stored, 0);
          const duplicates = polled.value.tenants.reduce((n, t) => n + t.duplicates, 0);
          rows.push({
            unit: `poller run, ${String(tenantCount)} tenant${tenantCount === 1 ? "" : "s"}, ${run}`,
            per: "tenant per run",
            units: tenantCount,
            tally: polled.tally,
            graph,
            ms: polled.ms,
            logs: polled.logs,
            detail: `${String(issues.length)} issues (${String(unresolved)} unresolved) per tenant; stored ${String(stored)}, duplicates ${String(duplicates)}`,
          });
          // Process what the run enqueued before the next run (not counted here), so duplicates are not re-enqueued.
          counter.take();
          await stack.host.idle(300_000);
          logs.take();
        }
      } finally {
        await sim.close();
      }
    }

    // (c) sweeper runs and one health check, through the host as Azure runs them. The poller's notices are of 2024,
    // so their windows' tasks are overdue: the first run escalates each once (a delivery per task and channel); a
    // later run finds nothing to do, as every run does once its work is done.
    const firstSweep = await measure(() => stack.host.runTimer("sweeper"));
    rows.push({ unit: "sweeper run, first after the poller's notices", per: "run", units: 1, tally: firstSweep.tally, graph: 0, ms: firstSweep.ms, logs: firstSweep.logs, detail: "escalates the new tasks, all overdue (their windows are of 2024): one delivery row and message each" });
    await stack.host.idle(300_000);
    const swept = await measure(() => stack.host.runTimer("sweeper"));
    rows.push({ unit: "sweeper run, steady state", per: "run", units: 1, tally: swept.tally, graph: 0, ms: swept.ms, logs: swept.logs, detail: "lists pending notices, controls and tasks, beats its heartbeat" });
    const checked = await measure(async () => {
      const response = await api("GET", "health");
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`health answered ${String(response.status)}`);
    });
    rows.push({ unit: "health check (GET /api/health)", per: "request", units: 1, tally: checked.tally, graph: 0, ms: checked.ms, logs: checked.logs, detail: `m365-status rows of the last poller run: ${String(POLLER_TENANTS.at(-1) ?? 0)}` });

    // (d) idle queue polling by a host with host.json's timing (the stack's own host sleeps for an hour).
    const idleSeconds = options.quick ? IDLE_SECONDS.quick : IDLE_SECONDS.full;
    const idleHost = await startLocalHost({ storageConnectionString: stack.connectionString, functionKey: stack.functionKey, port: 0, timers: false, log: () => undefined });
    try {
      await delay(3_000); // past the back-off ramp (100 ms doubling to 2 s)
      const idle = await measure(() => delay(idleSeconds * 1000));
      rows.push({
        unit: `idle queue polling, 1 host, ${String(idleSeconds)} s (host.json maxPollingInterval 2 s)`,
        per: "minute",
        units: idleSeconds / 60,
        tally: idle.tally,
        graph: 0,
        ms: idle.ms,
        logs: idle.logs,
        detail: `queue-triggered functions: ${idleHost.functions.filter((f) => f.trigger.type.toLowerCase() === "queuetrigger").map((f) => f.trigger.queueName ?? "").join(", ")}`,
      });
    } finally {
      await idleHost.close();
    }
  } finally {
    counter.close();
    await stack.close();
  }

  const perUnit: BenchTable = {
    title: "Requests per unit",
    columns: ["unit", "per", "table", "queue", "of which receives", "of which queue creates", "storage total", "Graph", "ms per run", "log lines", "log bytes", "detail"],
    rows: rows.map((r) => ({
      unit: r.unit,
      per: r.per,
      table: round(r.tally.table / r.units),
      queue: round(r.tally.queue / r.units),
      "of which receives": round(r.tally.receives / r.units),
      "of which queue creates": round(r.tally.queueCreates / r.units),
      "storage total": round((r.tally.table + r.tally.queue) / r.units),
      Graph: round(r.graph / r.units),
      "ms per run": round(r.ms, 0),
      "log lines": round(r.logs.lines / r.units),
      "log bytes": round(r.logs.bytes / r.units, 0),
      detail: r.detail,
    })),
  };
  const byKind: BenchTable = {
    title: "Storage requests by kind (whole unit, not divided)",
    columns: ["unit", "request", "count"],
    rows: rows.flatMap((r) => [...r.tally.byKind.entries()].sort((a, b) => b[1] - a[1]).map(([kind, count]) => ({ unit: r.unit, request: kind, count }))),
  };
  notes.push(
    "Storage requests: every node:http request from this process to Azurite while the unit ran (table and queue; blob is not used by these units). One request = one billable storage transaction; a $batch (entity-group transaction) is one request.",
    "host.idle()'s queue-length checks (GET ?comp=metadata) are the harness's and are left out; the host's receives are counted (host.idle() wakes the paused pollers, so processing rows include a few empty receives).",
    "The local host creates each queue once (PUT <queue>, again only after an error), then only receives, as the Azure Functions host does.",
    "Graph requests: the simulator's request log (token requests are not included: the simulator takes unsigned tokens; in Azure a token per tenant is fetched about once an hour from Entra, which is not billed).",
    "Poller rows are per tenant per run; 'first run' reads every issue (no watermark yet), 'steady state' is every later run: the modified-since query (10-minute overlap) and the unresolved query, each issue read checked against storage.",
    "Durations are wall time on this machine with local Azurite (~1 ms per storage call); Azure Storage round trips are slower (~5-20 ms), see docs/costs.md.",
  );
  return {
    name: "request-counts",
    title: "Storage transactions and Graph requests per unit of work (for docs/costs.md)",
    parameters: {
      azurite: mode === "process" ? "separate process" : "embedded in the benchmark process",
      quick: options.quick,
      pollerTenants: [...POLLER_TENANTS],
      idleSeconds: options.quick ? IDLE_SECONDS.quick : IDLE_SECONDS.full,
      notice: "test/fixtures/incident-2024-09/01-active.json (alertTargetIDs and trackingId rewritten per case)",
      tenants: "test/fixtures/tenants/tenants.json",
      totalSeconds: round((performance.now() - startedAt) / 1000, 1),
    },
    tables: [perUnit, byKind],
    targets: [],
    notes,
  };
}
