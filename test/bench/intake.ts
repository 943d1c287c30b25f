import { StorageCallCounter, type StorageCall } from "./storageCallCounter.js";
/**
 * Intake benchmark: Service Health alerts POSTed through the local host (`/api/notices/azure-monitor`) at 1, 16 and 64
 * concurrent senders, next to the floor measured in the same run against the same embedded Azurite: the bare table
 * write + enqueue the intake cannot avoid. Issue targets: p99 < 50 ms at 16 senders, intake ≥ 50% of the floor's
 * throughput. Everything (Azurite, host, senders) shares this process and its one event loop, as in `npm start`.
 *
 * Storage round trips are counted through Node's `http.client.*` diagnostics channels (the Azure SDKs use
 * node:http; the senders use fetch/undici, which those channels do not see), so each row says how many storage
 * calls one request cost without touching the code under test.
 */
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { startEmbeddedStack, startStackWithAzuriteProcess, type Stack } from "../../local/embeddedStack.js";
import type { AzuriteService } from "../../local/azurite.js";

/** Azurite in this process or its own; both expose the ports and the connection string. */
type BenchStack = Stack<{ connectionString: string; stop(): Promise<void>; port(service: AzuriteService): number }>;
import { encodeDocument } from "../../shared/adapters/entityCodec.js";
import { encodeQueueMessage } from "../../shared/adapters/storageQueue.js";
import { noticeMessage } from "../../shared/app/messages.js";
import { normaliseAzureMonitorAlert } from "../../shared/domain/azureMonitorNotice.js";
import { runClosedLoop, summarise, type BenchReport, type LoadResult, type OperationResult } from "./stats.js";

const SAMPLE = new URL("../fixtures/microsoft-docs/azure-monitor-common-schema-servicehealth-testaction.json", import.meta.url);
const ROUTE = "/api/notices/azure-monitor";
const LEVELS = [1, 16, 64] as const;
const REQUESTS: Record<(typeof LEVELS)[number], number> = { 1: 300, 16: 1000, 64: 2000 };
/** Concurrency levels that also get a row with the queue worker consuming during the measurement. */
const WORKER_LEVELS = [16, 64] as const;
const TARGET_P99_MS = 50;
const TARGET_P99_AT = 16;
const TARGET_RATIO = 0.5;
/** With polls this far apart the host's `notices` poller sleeps through a measurement unless woken (see pumpWorker). */
const PAUSED_POLL_MS = 3_600_000;

export interface BenchOptions {
  quick: boolean;
  /**
   * `process` (default): Azurite runs as its own process, as storage is another machine in Azure, so the host and
   * the senders do not share one event loop with it. `embedded`: everything on one thread (the test setup).
   */
  azurite?: "process" | "embedded";
  /** Run only this part of a benchmark that has several (the review bench: `throughput` or `memory`). */
  part?: string;
}

type Sample = Record<string, unknown> & { data: { alertContext: { properties: Record<string, unknown> } } };

/** One body per request, each a new notice (unique trackingId) with a unique revision (communicationId). */
function makeBodies(template: Sample, tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const body = structuredClone(template);
    body.data.alertContext.properties.trackingId = `BENCH-${tag}-${i}`;
    body.data.alertContext.properties.communicationId = `${tag}${String(i).padStart(7, "0")}`;
    return JSON.stringify(body);
  });
}

/** The floor's entity: the revision row storeRevision writes for the same body (notice document + raw body, gzip-chunked). */
function floorEntity(body: string): { entity: Record<string, unknown> & { partitionKey: string; rowKey: string }; message: string } {
  const parsed = normaliseAzureMonitorAlert(JSON.parse(body));
  if (!parsed.ok) throw new Error(`sample does not normalise: ${parsed.errors.join("; ")}`);
  const notice = parsed.value;
  return {
    entity: {
      partitionKey: `floor~${notice.id}`,
      rowKey: notice.revision,
      title: notice.title,
      publishedAt: notice.publishedAt,
      stage: notice.stage ?? "",
      synthetic: notice.synthetic,
      receivedAt: new Date().toISOString(),
      ...encodeDocument("notice", JSON.stringify(notice)),
      ...encodeDocument("raw", body),
    },
    message: encodeQueueMessage(noticeMessage(notice)),
  };
}

function breakdown(calls: StorageCall[], requests: number): Record<string, string | number>[] {
  const byKind = new Map<string, number[]>();
  for (const call of calls) {
    const kind = `${call.kind} → ${call.status ?? "?"}`;
    byKind.set(kind, [...(byKind.get(kind) ?? []), call.ms]);
  }
  return [...byKind.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([kind, ms]) => {
      const s = summarise(ms, 1, 0);
      return { call: kind, "per request": round(ms.length / requests, 2), "mean ms": round(s.mean, 2), "p50 ms": round(s.p50, 2), "p99 ms": round(s.p99, 2) };
    });
}

// ---- the phases ----

interface Row {
  path: string;
  senders: number;
  load: LoadResult;
  storageCalls: number;
  /** Event-loop utilisation during the phase: near 1 means the one thread everything shares was saturated. */
  elu: number;
  workerInvocations: number;
  /** Process CPU time (all threads) per request: less sensitive than req/s to other load on a shared machine. */
  cpuMsPerRequest: number;
  vsFloor?: number;
  /** Floor CPU per request / this row's CPU per request: the throughput ratio the CPU cost alone predicts. */
  cpuVsFloor?: number;
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function postNotice(url: string, key: string, body: string): Promise<OperationResult> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-functions-key": key }, body });
  } catch (error) {
    // undici says only "fetch failed"; the cause (ECONNRESET, UND_ERR_SOCKET, timeout…) is what tells why.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${(error.cause as Error & { code?: string }).code ?? ""} ${error.cause.message}` : "";
    return { ok: false, error: `${error instanceof Error ? error.message : String(error)}${cause}` };
  }
  const text = await response.text();
  return response.status === 202 ? { ok: true } : { ok: false, error: `${response.status} ${text.slice(0, 300)}` };
}

/**
 * Lets the paused `notices` poller run during a phase: `host.idle()` wakes sleeping pollers every 50 ms until the
 * queues are empty, and a poller that finds messages loops without sleeping (batchSize 16), as the Functions host does.
 */
function pumpWorker(stack: BenchStack): { stop(): Promise<void> } {
  const state = { stopped: false };
  const loop = (async () => {
    while (!state.stopped) {
      await stack.host.idle(600_000).catch(() => undefined);
      await delay(10);
    }
  })();
  return { async stop() { state.stopped = true; await loop; } };
}

/**
 * Closes the stack without hanging on the paused poller: a poller woken by the last `idle()` may still be in its
 * receive call when `close()` wakes the sleepers, and then goes back to sleep for the whole (1 h) poll interval,
 * which `host.close()` awaits. So let that receive finish first, and bound the wait.
 */
async function closeStack(stack: BenchStack): Promise<void> {
  await delay(500);
  const closed = await Promise.race([stack.close().then(() => true), delay(5_000).then(() => false)]);
  if (!closed) {
    process.stderr.write("  host.close() still waiting for a sleeping queue poller after 5 s; stopping Azurite directly\n");
    await stack.azurite.stop();
  }
}

export async function runIntakeBench(options: BenchOptions): Promise<BenchReport> {
  const scale = options.quick ? 0.1 : 1;
  const template = JSON.parse(readFileSync(SAMPLE, "utf8")) as Sample;
  const runTag = randomBytes(3).toString("hex").toUpperCase();
  const hostOptions = { host: { timers: false, queue: { minPollMs: PAUSED_POLL_MS, maxPollMs: PAUSED_POLL_MS } } };
  const azuriteMode = options.azurite ?? "process";
  const stack: BenchStack = azuriteMode === "process" ? await startStackWithAzuriteProcess(hostOptions) : await startEmbeddedStack(hostOptions);
  const counter = new StorageCallCounter(stack.azurite);
  const url = `${stack.host.url}${ROUTE}`;
  const tableName = `benchfloor${runTag.toLowerCase()}`;
  const floorTable = TableClient.fromConnectionString(stack.connectionString, tableName, { allowInsecureConnection: true });
  const floorQueue = new QueueClient(stack.connectionString, `bench-floor-${runTag.toLowerCase()}`);
  await floorTable.createTable();
  await floorQueue.createIfNotExists();
  const rows: Row[] = [];
  const breakdowns: { title: string; rows: Record<string, string | number>[] }[] = [];
  const workerRuns = (): number => stack.host.stats().invocations;

  const phase = async (path: string, senders: number, count: number, operation: (i: number) => Promise<OperationResult>, opts: { breakdown?: string } = {}): Promise<Row> => {
    counter.take();
    const invocationsBefore = workerRuns();
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const load = await runClosedLoop(count, senders, operation);
    const cpuUsed = process.cpuUsage(cpu);
    const used = performance.eventLoopUtilization(elu).utilization;
    const calls = counter.take();
    const httpInvocations = path.startsWith("intake") ? count : 0;
    const row: Row = { path, senders, load, storageCalls: calls.length / count, elu: used, workerInvocations: workerRuns() - invocationsBefore - httpInvocations, cpuMsPerRequest: (cpuUsed.user + cpuUsed.system) / 1000 / count };
    if (opts.breakdown) breakdowns.push({ title: opts.breakdown, rows: breakdown(calls, count) });
    rows.push(row);
    process.stderr.write(`  ${path} ×${senders}: ${round(load.throughput)} req/s, p99 ${round(load.p99)} ms, errors ${load.errors}\n`);
    return row;
  };

  const startedAt = performance.now();
  const drain = { messages: 0, ms: 0 };
  try {
    // Warm-up: JIT, SDK pipelines, keep-alive sockets, the lazily created tables and queue (not measured).
    const warm = makeBodies(template, `${runTag}W`, 64);
    await runClosedLoop(warm.length, 16, (i) => postNotice(url, stack.functionKey, warm[i] ?? ""));

    for (const senders of LEVELS) {
      const count = Math.max(senders, Math.round(REQUESTS[senders] * scale));
      const warmCount = Math.max(2 * senders, Math.round(count / 10));
      const bodies = makeBodies(template, `${runTag}N${senders}`, count);
      const warmBodies = makeBodies(template, `${runTag}V${senders}`, warmCount);
      const floor = bodies.map(floorEntity);
      const floorWarm = warmBodies.map(floorEntity);
      const floorOp = (items: typeof floor) => async (i: number): Promise<OperationResult> => {
        const item = items[i];
        if (!item) return { ok: false, error: `no floor item ${i}` };
        await floorTable.createEntity(item.entity);
        await floorQueue.sendMessage(item.message);
        return { ok: true };
      };

      await runClosedLoop(floorWarm.length, senders, floorOp(floorWarm));
      const floorRow = await phase("floor: createEntity + sendMessage", senders, count, floorOp(floor), senders === TARGET_P99_AT ? { breakdown: `floor, ${senders} senders` } : {});

      await runClosedLoop(warmBodies.length, senders, (i) => postNotice(url, stack.functionKey, warmBodies[i] ?? ""));
      const intakeRow = await phase("intake: new notice", senders, count, (i) => postNotice(url, stack.functionKey, bodies[i] ?? ""),
        senders === TARGET_P99_AT ? { breakdown: `intake new notice, ${senders} senders` } : {});
      intakeRow.vsFloor = intakeRow.load.throughput / floorRow.load.throughput;
      intakeRow.cpuVsFloor = floorRow.cpuMsPerRequest / intakeRow.cpuMsPerRequest;

      const dupRow = await phase("intake: duplicate", senders, count, (i) => postNotice(url, stack.functionKey, bodies[i] ?? ""),
        senders === TARGET_P99_AT ? { breakdown: `intake duplicate, ${senders} senders` } : {});
      dupRow.vsFloor = dupRow.load.throughput / floorRow.load.throughput;
      dupRow.cpuVsFloor = floorRow.cpuMsPerRequest / dupRow.cpuMsPerRequest;

      // The host's own cost: a POST the host refuses with 401 before any function runs (HTTP parse, routing, key check).
      await phase("host only: 401, no function", senders, count, async () => {
        const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-functions-key": "wrong" }, body: bodies[0] ?? "" });
        await response.arrayBuffer();
        return response.status === 401 ? { ok: true } : { ok: false, error: `expected 401, got ${response.status}` };
      });
    }

    // Drain what the paused worker left (its throughput is a figure too), then measure with the worker consuming.
    const backlog = stack.host.stats().invocations;
    const drainStart = performance.now();
    process.stderr.write("  draining the paused worker's backlog…\n");
    await stack.host.idle(600_000);
    drain.messages = stack.host.stats().invocations - backlog;
    drain.ms = performance.now() - drainStart;
    counter.take();

    for (const senders of WORKER_LEVELS) {
      const count = Math.max(senders, Math.round(REQUESTS[senders] * scale));
      const bodies = makeBodies(template, `${runTag}Q${senders}`, count);
      const pump = pumpWorker(stack);
      const row = await phase("intake: new, worker on", senders, count, (i) => postNotice(url, stack.functionKey, bodies[i] ?? ""));
      process.stderr.write("  draining…\n");
      await pump.stop();
      const floorRow = rows.find((r) => r.senders === senders && r.path.startsWith("floor"));
      if (floorRow) {
        row.vsFloor = row.load.throughput / floorRow.load.throughput;
        row.cpuVsFloor = floorRow.cpuMsPerRequest / row.cpuMsPerRequest;
      }
      await stack.host.idle(600_000);
    }
  } finally {
    counter.close();
    await closeStack(stack);
  }

  const tableRows = rows.map((r) => ({
    path: r.path,
    senders: r.senders,
    requests: r.load.requests,
    "req/s": round(r.load.throughput),
    "p50 ms": round(r.load.p50),
    "p95 ms": round(r.load.p95),
    "p99 ms": round(r.load.p99),
    "max ms": round(r.load.max),
    errors: r.load.errors,
    "storage calls/req": round(r.storageCalls, 2),
    "worker runs": r.workerInvocations,
    ELU: round(r.elu, 2),
    "CPU ms/req": round(r.cpuMsPerRequest, 2),
    "vs floor": r.vsFloor === undefined ? "" : round(r.vsFloor, 2),
    "vs floor (CPU)": r.cpuVsFloor === undefined ? "" : round(r.cpuVsFloor, 2),
    flags: flags(r),
  }));

  const intakeAt = (senders: number): Row | undefined => rows.find((r) => r.senders === senders && r.path === "intake: new notice");
  const target16 = intakeAt(TARGET_P99_AT);
  const targets: BenchReport["targets"] = [
    {
      target: `intake (new notice) p99 < ${TARGET_P99_MS} ms at ${TARGET_P99_AT} senders`,
      met: target16 !== undefined && target16.load.p99 < TARGET_P99_MS,
      detail: target16 ? `p99 ${round(target16.load.p99)} ms` : "not measured",
    },
    ...LEVELS.map((senders) => {
      const r = intakeAt(senders);
      return {
        target: `intake (new notice) ≥ ${TARGET_RATIO * 100}% of floor throughput at ${senders} sender${senders === 1 ? "" : "s"}`,
        met: r?.vsFloor !== undefined && r.vsFloor >= TARGET_RATIO,
        detail: r?.vsFloor !== undefined ? `ratio ${round(r.vsFloor, 2)} (${round(r.load.throughput)} vs floor ${round(r.load.throughput / r.vsFloor)} req/s)` : "not measured",
      };
    }),
  ];
  const errorNotes = rows.filter((r) => r.load.errors > 0).map((r) => `ERRORS in "${r.path}" ×${r.senders}: ${r.load.errors}; first: ${r.load.firstErrors.join(" | ")}`);

  return {
    name: "intake",
    title: "Notice intake through the local host vs the bare storage floor",
    parameters: {
      azurite: azuriteMode === "process" ? "separate process (storage off the host's event loop)" : "embedded in the benchmark process",
      quick: options.quick,
      levels: [...LEVELS],
      requestsPerLevel: Object.fromEntries(LEVELS.map((l) => [l, Math.max(l, Math.round(REQUESTS[l] * scale))])),
      workerLevels: [...WORKER_LEVELS],
      route: ROUTE,
      sample: "test/fixtures/microsoft-docs/azure-monitor-common-schema-servicehealth-testaction.json",
      bodyBytes: Buffer.byteLength(makeBodies(template, runTag, 1)[0] ?? ""),
      queueWorker: "paused (poll interval 1 h) in all rows except 'worker on', where host.idle() wakes it every ≤ 50 ms and it drains flat out",
      totalSeconds: round((performance.now() - startedAt) / 1000),
      drain: { messages: drain.messages, seconds: round(drain.ms / 1000, 2), perSecond: drain.ms > 0 ? round((drain.messages * 1000) / drain.ms) : null },
    },
    tables: [
      { title: "Intake vs floor", columns: Object.keys(tableRows[0] ?? {}), rows: tableRows },
      ...breakdowns.map((b) => ({ title: `Storage calls: ${b.title}`, columns: ["call", "per request", "mean ms", "p50 ms", "p99 ms"], rows: b.rows })),
    ],
    targets,
    notes: [
      azuriteMode === "process"
        ? "Azurite runs as its own process (storage is another machine in Azure); the local host and the senders share this process's event loop (ELU near 1 = CPU-bound)."
        : "One process: embedded Azurite, the local host and the senders share one event loop (ELU near 1 = CPU-bound).",
      "Floor: TableClient.createEntity (revision-sized entity, own partition) then QueueClient.sendMessage, sequential per operation, same Azurite, same senders.",
      "Intake rows send a new notice per request (unique trackingId + communicationId): one transaction (revision row + the notice's pending mark), then enqueue.",
      "Duplicate rows re-send the bodies of the same level's new-notice row (already recorded and enqueued).",
      "Queue worker: paused during the intake/floor rows (poll interval set to 1 h; the backlog is drained after, see parameters.drain); 'worker on' rows let noticeProcess consume concurrently (realistic).",
      "vs floor = intake req/s ÷ floor req/s at the same senders (the issue's ratio); vs floor (CPU) = floor CPU ms/req ÷ row CPU ms/req, steadier when other processes share the machine.",
      "Storage calls/req counts node:http requests to Azurite during the row (worker polls included in 'worker on' rows).",
      ...errorNotes,
    ],
  };
}

function flags(r: Row): string {
  if (!r.path.startsWith("intake: new")) return "";
  const out: string[] = [];
  if (r.load.errors > 0) out.push("ERRORS");
  if (r.senders === TARGET_P99_AT) out.push(r.load.p99 < TARGET_P99_MS ? "p99 ok" : `p99 ≥ ${TARGET_P99_MS}`);
  if (r.vsFloor !== undefined) out.push(r.vsFloor >= TARGET_RATIO ? "ratio ok" : `ratio < ${TARGET_RATIO}`);
  return out.join(", ");
}
