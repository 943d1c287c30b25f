/**
 * SIGKILL fault runs (issue 9): the local host (compiled, a process of its own) is killed at random points while it
 * takes in the September 2024 notices, processes them, runs the reviews and delivers the tasks; it is restarted at
 * once, and the run waits for quiescence. Storage is Azurite in a process of its own with its data on disk, so state
 * survives every kill; the Graph simulator runs here (its sent items are the Planner tasks, cards and mails).
 *
 * Each run is compared with a fault-free run of the same workload: the same windows, controls, findings and tasks;
 * every accepted notice processed; no Planner task created twice; Teams/e-mail at most one extra message per kill
 * (documented outbox guarantee); poison queues empty.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { QueueServiceClient } from "@azure/storage-queue";
import { AzuriteProcess } from "../../local/azuriteProcess.js";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { SeededRandom } from "../../local/graphSimulator/seededRandom.js";
import { loadSettings } from "../../shared/config.js";
import { createServices, type Services } from "../../shared/runtime.js";
import type { TenantProfile } from "../../shared/domain/tenant.js";
import { repoRoot } from "../support/processes.js";

const NOW = "2024-09-20T12:30:00Z";
const WINDOW = { start: "2024-09-02T23:00:00Z", end: "2024-09-19T16:00:00Z" };
const BUILD_DIR = path.join(repoRoot, "dist-faults");
const NOTICE_FILES = ["01-active.json", "02-resolved.json", "03-pir.json", "test-action.json"];
const QUEUES = ["notices", "controls", "deliveries"];

export type KillPhase = "intake" | "processing" | "reviews" | "deliveries" | "idle";

export interface RunOutcome {
  kills: { phase: KillPhase; atMs: number }[];
  /** When the run first had nothing left to do but delayed retries (ms from its start). */
  busyMs: number;
  accepted: number;
  attempts: number;
  mismatches: string[];
  plannerTasks: number;
  mails: number;
  cards: number;
  poison: number;
  seconds: number;
}

export interface CampaignResult {
  runs: number;
  kills: number;
  killsByPhase: Record<KillPhase, number>;
  noticesAccepted: number;
  noticesLost: number;
  plannerDuplicates: number;
  extraMessages: number;
  poisonMessages: number;
  failedRuns: { run: number; mismatches: string[] }[];
  reference: { windows: number; controls: number; findings: number; tasks: number; plannerTasks: number; mails: number; cards: number };
  seconds: number;
}

interface Snapshot {
  /** Every delivery row: task, channel, state and whether what was sent is the task's final content. */
  deliveries: string[];
  windows: string[];
  controls: string[];
  findings: string[];
  tasks: string[];
  noticesProcessed: number;
  noticesTotal: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Compiles the project once (tsc -p tsconfig.build.json) so each host start takes a second, not tsx's three. */
export function buildHost(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", BUILD_DIR], { cwd: repoRoot, stdio: "inherit" });
}

class Host {
  child: ChildProcessWithoutNullStreams | undefined;
  url = "";
  constructor(private readonly env: Record<string, string>, private readonly clock: () => string) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [path.join(BUILD_DIR, "local", "start.js"), "--port", "0", "--no-timers", "--clock", this.clock(), "--graph-time-scale", "1000", "--retry-delay-ms", "100", "--max-poll-ms", "100", "--visibility-seconds", "15"], {
      cwd: repoRoot,
      env: this.env,
    });
    this.child = child;
    this.url = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => { reject(new Error(`host did not start:\n${out}\n${err}`)); }, 30_000);
      child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`host exited with ${String(code)}:\n${out}\n${err}`)); });
    });
    // Keep the pipes drained so the child never blocks on a full pipe.
    child.stdout.on("data", () => undefined);
    child.stderr.on("data", () => undefined);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(5000).then(() => child.kill("SIGKILL"))]);
  }
}

function fixture(...parts: string[]): unknown {
  return JSON.parse(readFileSync(path.join(repoRoot, "test", "fixtures", ...parts), "utf8"));
}

function tenants(sim: GraphSimulator): TenantProfile[] {
  const [contoso, quiet] = sim.tenants;
  const base = { regions: [], licence: "p2" as const, onboardedAt: "2024-01-01T00:00:00Z", logSources: ["entra-signin" as const, "entra-audit" as const, "sentinel" as const] };
  return [
    {
      ...base,
      tenantId: contoso?.id ?? "",
      name: "Contoso",
      subscriptions: ["11111111-1111-1111-1111-111111111111"],
      contacts: { emails: ["soc@contoso.example"], mailSender: "bot@contoso.example", teamsWorkflowUrl: sim.workflowUrl(contoso?.id ?? ""), planner: { planId: "xqQg5FS2LkCp935s-FIFm2QAFkHM", bucketId: "hsOf2dhOJkqyYYZEtdzDe2QAIUCR" } },
    },
    { ...base, tenantId: quiet?.id ?? "", name: "Quiet", subscriptions: ["45529734-0ed9-4895-a0df-44b59a5a07f9"], contacts: { emails: ["soc@quiet.example"], mailSender: "bot@quiet.example" } },
  ];
}

/** Sends a request until it is accepted, as an action group retries: connection refused (host down) or 503 → again. */
async function deliver(host: Host, route: string, method: string, body: unknown, key: string, counter: { attempts: number }): Promise<void> {
  for (;;) {
    counter.attempts++;
    try {
      const res = await fetch(`${host.url}/api/${route}`, { method, headers: { "content-type": "application/json", "x-functions-key": key }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      if (res.status < 300) return;
      if (res.status !== 503 && res.status < 500) throw new Error(`${method} ${route}: ${String(res.status)} ${await res.text()}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(`${method} ${route}`)) throw error;
    }
    await sleep(100);
  }
}

async function snapshot(services: Services, tenantIds: readonly string[]): Promise<Snapshot> {
  const windows: string[] = [];
  for await (const w of services.ledger.listWindows({})) windows.push(`${w.tenantId} ${w.source} ${w.windowId} ${w.start} ${w.end ?? "open"} ${w.status}`);
  const controls: string[] = [];
  const findings: string[] = [];
  const tasks: string[] = [];
  const deliveries: string[] = [];
  for (const id of tenantIds) {
    for await (const c of services.controlRuns.listControls(id)) controls.push(`${c.tenantId} ${c.windowId} ${c.control} ${c.state} ${JSON.stringify(c.coverage)} ${JSON.stringify(c.recordsRead)}`);
    for await (const f of services.findings.listFindings(id)) findings.push(`${f.id} ${f.rule} ${String(f.count)} ${f.firstSeen} ${f.lastSeen} ${f.sampleIds.join(",")}`);
    for await (const { task } of services.tasks.listTenant(id)) {
      tasks.push(`${task.id} ${task.status}`);
      for (const d of await services.deliveries.listForTask(task.id)) deliveries.push(`${task.id} ${d.key} ${d.state} ${d.sentHash === d.wantedHash ? "final content sent" : "stale"}`);
    }
  }
  let processed = 0;
  let total = 0;
  for await (const n of services.notices.listNotices({})) {
    total++;
    if (n.state === "processed") processed++;
  }
  return { deliveries: deliveries.sort(), windows: windows.sort(), controls: controls.sort(), findings: findings.sort(), tasks: tasks.sort(), noticesProcessed: processed, noticesTotal: total };
}

async function queueDepth(queues: QueueServiceClient, names: readonly string[]): Promise<number> {
  let n = 0;
  for (const name of names) {
    const props = await queues.getQueueClient(name).getProperties().catch(() => undefined);
    n += props?.approximateMessagesCount ?? 0;
  }
  return n;
}

/** Everything settled: notices processed, controls finished, no delivery pending, queues empty. */
async function quiescent(services: Services, queues: QueueServiceClient, tenantIds: readonly string[]): Promise<boolean> {
  for await (const n of services.notices.listNotices({})) if (n.state !== "processed") return false;
  for (const id of tenantIds) {
    for await (const c of services.controlRuns.listControls(id)) if (c.state === "planned" || c.state === "running") return false;
    for await (const { task } of services.tasks.listTenant(id)) {
      for (const d of await services.deliveries.listForTask(task.id)) if (d.state === "pending") return false;
    }
  }
  return (await queueDepth(queues, QUEUES)) === 0;
}

async function phaseOf(services: Services, tenantIds: readonly string[], sent: boolean): Promise<KillPhase> {
  if (!sent) return "intake";
  for await (const n of services.notices.listNotices({})) if (n.state !== "processed") return "processing";
  for (const id of tenantIds) for await (const c of services.controlRuns.listControls(id)) if (c.state === "planned" || c.state === "running") return "reviews";
  for (const id of tenantIds) {
    for await (const { task } of services.tasks.listTenant(id)) for (const d of await services.deliveries.listForTask(task.id)) if (d.state === "pending") return "deliveries";
  }
  return "idle";
}

/**
 * One run: fresh storage (on disk) and simulator, the workload, `killDelaysMs` SIGKILLs (each followed by an
 * immediate restart), then quiescence. Returns the snapshot and figures.
 */
export async function runOnce(killDelaysMs: readonly number[], timeoutMs = 180_000, trace?: (line: string) => void): Promise<{ outcome: RunOutcome; snapshot: Snapshot; sim: { planner: number; mails: number; cards: number } }> {
  const started = performance.now();
  const dir = mkdtempSync(path.join(tmpdir(), "bw-faults-"));
  const azurite = await AzuriteProcess.start({ location: dir });
  const sim = await startGraphSimulator({
    seed: 9,
    now: NOW,
    days: 30,
    throttling: false,
    tenants: [{ displayName: "Contoso", licence: "p2", users: 10 }, { displayName: "Quiet", licence: "p2", users: 8, attacks: [] }],
    attacksBetween: WINDOW,
  });
  const key = randomBytes(18).toString("base64url");
  const wallStart = Date.now();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    AzureWebJobsStorage: azurite.connectionString,
    BLINDWINDOW_FUNCTION_KEY: key,
    BLINDWINDOW_GRAPH_BASE_URL: sim.url,
    BLINDWINDOW_CONTROL_BUDGET_SECONDS: "1",
    // Azure's recovery timings, compressed: what a dead worker held comes back in seconds, not in 5–11 minutes.
    BLINDWINDOW_SWEEP_AFTER_SECONDS: "10",
    BLINDWINDOW_LOG_LEVEL: "error",
  };
  const host = new Host(env, () => new Date(Date.parse(NOW) + (Date.now() - wallStart)).toISOString());
  const services = createServices(loadSettings({ AzureWebJobsStorage: azurite.connectionString }));
  const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const profiles = tenants(sim);
  const tenantIds = profiles.map((p) => p.tenantId);
  const counter = { attempts: 0 };
  const kills: RunOutcome["kills"] = [];
  let accepted = 0;
  let sent = false;
  try {
    await host.start();
    const workload = (async () => {
      await deliver(host, "tenants", "PUT", { tenants: profiles }, key, counter);
      for (const file of NOTICE_FILES) {
        await deliver(host, "notices/azure-monitor", "POST", fixture("incident-2024-09", file), key, counter);
        accepted++;
      }
      sent = true;
    })();
    const killer = (async () => {
      let previous = 0;
      for (const delay of killDelaysMs) {
        await sleep(Math.max(0, delay - previous));
        previous = delay;
        const phase = await phaseOf(services, tenantIds, sent).catch(() => "intake" as const);
        await host.kill();
        kills.push({ phase, atMs: Math.round(performance.now() - started) });
        await host.start();
      }
    })();
    await Promise.all([workload, killer]);
    const deadline = performance.now() + timeoutMs;
    let lastSweep = 0;
    let busyMs = -1;
    while (!(await quiescent(services, queues, tenantIds))) {
      if (performance.now() > deadline) break;
      const phase = await phaseOf(services, tenantIds, true);
      if (phase === "idle" && busyMs < 0) busyMs = Math.round(performance.now() - started);
      trace?.(`${String(Math.round(performance.now() - started))} ms: ${phase}`);
      // A control whose worker was killed is resumed by the sweeper once its lease expires (as the timer would).
      if (performance.now() - lastSweep > 1500) {
        lastSweep = performance.now();
        await fetch(`${host.url}/admin/functions/sweeper`, { method: "POST", headers: { "x-functions-key": key } }).catch(() => undefined);
      }
      await sleep(200);
    }
    const snap = await snapshot(services, tenantIds);
    const poison = await queueDepth(queues, QUEUES.map((q) => `${q}-poison`));
    const mismatches: string[] = [];
    if (!(await quiescent(services, queues, tenantIds))) {
      const stuck: string[] = [];
      for (const id of tenantIds) {
        for await (const c of services.controlRuns.listControls(id)) if (c.state === "planned" || c.state === "running") stuck.push(`control ${c.control} ${c.state}`);
        for await (const { task } of services.tasks.listTenant(id)) for (const d of await services.deliveries.listForTask(task.id)) if (d.state === "pending") stuck.push(`delivery ${d.key} pending (attempts ${String(d.attempts)}, next ${d.nextAttemptAt ?? "-"}, claimed ${d.claimedUntil ?? "-"})`);
      }
      mismatches.push(`not quiescent within the time limit: ${await phaseOf(services, tenantIds, true)}; queues ${String(await queueDepth(queues, QUEUES))}; ${stuck.slice(0, 4).join(", ")}`);
    }
    return {
      outcome: { kills, busyMs: busyMs < 0 ? Math.round(performance.now() - started) : busyMs, accepted, attempts: counter.attempts, mismatches, plannerTasks: sim.sent.plannerTasks.length, mails: sim.sent.mails.length, cards: sim.sent.cards.length, poison, seconds: Math.round(performance.now() - started) / 1000 },
      snapshot: snap,
      sim: { planner: sim.sent.plannerTasks.length, mails: sim.sent.mails.length, cards: sim.sent.cards.length },
    };
  } finally {
    await host.stop();
    await sim.close();
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function diff(name: string, expected: readonly string[], actual: readonly string[]): string[] {
  const e = new Set(expected);
  const a = new Set(actual);
  const missing = expected.filter((x) => !a.has(x));
  const extra = actual.filter((x) => !e.has(x));
  return [...missing.slice(0, 3).map((x) => `${name} missing: ${x}`), ...extra.slice(0, 3).map((x) => `${name} unexpected: ${x}`)];
}

/**
 * A fault-free reference run, then `runs` runs with 1–2 SIGKILLs each at seeded random times within the reference
 * run's duration, `parallel` at a time (each run has its own Azurite, simulator and host). Progress lines go to `log`.
 */
export async function runKillCampaign(options: { runs: number; seed: number; parallel?: number; log?: (line: string) => void; build?: boolean }): Promise<CampaignResult> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  if (options.build !== false) buildHost();
  const reference = await runOnce([]);
  if (reference.outcome.mismatches.length > 0 || reference.outcome.poison > 0) throw new Error(`the fault-free run did not settle: ${reference.outcome.mismatches.join("; ")}`);
  // Kills land while there is work: between the start and the moment the fault-free run had only delayed retries left.
  const span = reference.outcome.busyMs;
  log(`reference: ${String(reference.snapshot.windows.length)} windows, ${String(reference.snapshot.controls.length)} controls, ${String(reference.snapshot.findings.length)} findings, ${String(reference.snapshot.tasks.length)} tasks, ${String(reference.sim.planner)} Planner tasks, ${String(reference.sim.mails)} mails, ${String(reference.sim.cards)} cards in ${reference.outcome.seconds.toFixed(1)} s (busy for ${(reference.outcome.busyMs / 1000).toFixed(1)} s)`);
  const rng = SeededRandom.keyed(String(options.seed), "kills");
  const result: CampaignResult = {
    runs: 0, kills: 0, killsByPhase: { intake: 0, processing: 0, reviews: 0, deliveries: 0, idle: 0 }, noticesAccepted: 0, noticesLost: 0,
    plannerDuplicates: 0, extraMessages: 0, poisonMessages: 0, failedRuns: [],
    reference: { windows: reference.snapshot.windows.length, controls: reference.snapshot.controls.length, findings: reference.snapshot.findings.length, tasks: reference.snapshot.tasks.length, plannerTasks: reference.sim.planner, mails: reference.sim.mails, cards: reference.sim.cards },
    seconds: 0,
  };
  // The schedule is drawn from the seed before anything runs, so `parallel` changes the wall time, not the kills.
  const schedule = Array.from({ length: options.runs }, () => {
    const killCount = rng.chance(0.5) ? 1 : 2;
    return Array.from({ length: killCount }, () => rng.int(Math.max(1, Math.floor(span)))).sort((a, b) => a - b);
  });
  const record = (run: number, outcome: RunOutcome, snap: Snapshot, sim: { planner: number; mails: number; cards: number }): void => {
    const mismatches = [
      ...outcome.mismatches,
      ...diff("window", reference.snapshot.windows, snap.windows),
      ...diff("control", reference.snapshot.controls, snap.controls),
      ...diff("finding", reference.snapshot.findings, snap.findings),
      ...diff("task", reference.snapshot.tasks, snap.tasks),
      ...diff("delivery", reference.snapshot.deliveries, snap.deliveries),
    ];
    if (snap.noticesProcessed !== snap.noticesTotal || snap.noticesTotal !== reference.snapshot.noticesTotal) mismatches.push(`notices processed ${String(snap.noticesProcessed)}/${String(snap.noticesTotal)}, reference ${String(reference.snapshot.noticesTotal)}`);
    const plannerDuplicates = Math.max(0, sim.planner - reference.sim.planner);
    if (plannerDuplicates > 0) mismatches.push(`${String(plannerDuplicates)} Planner task(s) created twice`);
    if (sim.planner < reference.sim.planner) mismatches.push(`Planner tasks ${String(sim.planner)} < ${String(reference.sim.planner)}`);
    // Teams and e-mail re-announce a task when its content changes, so how many messages a run sends depends on the
    // order controls finish in: the invariant is the outbox's (every delivery sent with the final content, checked
    // above); the message counts are reported, not compared.
    const extra = Math.max(0, sim.mails - reference.sim.mails) + Math.max(0, sim.cards - reference.sim.cards);
    if (outcome.poison > 0) mismatches.push(`${String(outcome.poison)} poison message(s)`);
    result.runs++;
    result.kills += outcome.kills.length;
    for (const k of outcome.kills) result.killsByPhase[k.phase]++;
    result.noticesAccepted += outcome.accepted;
    result.noticesLost += Math.max(0, reference.snapshot.noticesTotal - snap.noticesProcessed);
    result.plannerDuplicates += plannerDuplicates;
    result.extraMessages += extra;
    result.poisonMessages += outcome.poison;
    if (mismatches.length > 0) result.failedRuns.push({ run, mismatches });
    log(`run ${String(run)}/${String(options.runs)} (${String(result.runs)} done): kills at ${outcome.kills.map((k) => `${String(k.atMs)} ms (${k.phase})`).join(", ")} · ${outcome.seconds.toFixed(1)} s · ${mismatches.length === 0 ? "identical" : mismatches.join("; ")}`);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < schedule.length) {
      const run = ++next;
      const { outcome, snapshot: snap, sim } = await runOnce(schedule[run - 1] ?? []);
      record(run, outcome, snap, sim);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 1) }, worker));
  result.seconds = Math.round(performance.now() - started) / 1000;
  return result;
}
