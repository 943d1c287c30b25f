/**
 * `npm run demo`: the September 2024 logging incident replayed through the whole product on this machine — the
 * local host with in-memory Azurite, the Graph simulator with three tenants (Free / P1 / P2) and attacks planted
 * inside the blind window, the notices as they reached customers, the reviews, findings, tasks and reports.
 *
 * The simulator's clock is early October 2024, where customers stood when Microsoft told them: the Free tenant's
 * 7-day retention has already deleted its whole window; P1/P2 tenants lost the first day and a half.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startEmbeddedStack, type EmbeddedStack } from "./embeddedStack.js";
import { projectRoot } from "./hostSettings.js";
import { textTable } from "../cli/textTable.js";
import { startGraphSimulator, type GraphSimulator } from "./graphSimulator/startGraphSimulator.js";
import type { ServiceHealthIssue } from "./graphSimulator/records.js";
import type { AttackKind } from "./graphSimulator/dataGenerator.js";
import { createGraphClientFactory } from "../shared/adapters/graph/graphClientFactory.js";
import { loadSettings, processEnvironment } from "../shared/config.js";
import { createServices, useServices, type Services } from "../shared/runtime.js";
import type { Clock } from "../shared/app/ports.js";
import type { ControlSummary } from "../shared/app/reviewPorts.js";
import { distinctFindings, type Finding } from "../shared/domain/finding.js";
import type { TenantProfile } from "../shared/domain/tenant.js";

const root = projectRoot(path.dirname(fileURLToPath(import.meta.url)));
const fixture = (...parts: string[]): unknown => JSON.parse(readFileSync(path.join(root, "test", "fixtures", ...parts), "utf8"));

/** Where customers stood: the PIR was published on 3 October 2024. */
export const DEMO_NOW = "2024-10-04T09:00:00Z";
export const DEMO_WINDOW = { start: "2024-09-02T23:00:00Z", end: "2024-09-19T16:00:00Z" };

interface DemoTenant {
  profile: TenantProfile;
  users: number;
  attacks: readonly AttackKind[];
}

/** The three tenants of test/fixtures/tenants/tenants.json, with the simulator's Teams Workflows endpoint. */
function demoTenants(sim: GraphSimulator | undefined): DemoTenant[] {
  const { tenants } = fixture("tenants", "tenants.json") as { tenants: TenantProfile[] };
  const attacks: Record<string, readonly AttackKind[]> = {
    free: [],
    p1: ["passwordSpray", "mfaFatigue", "consentToApplication", "legacyAuthSuccess"],
    p2: ["bruteForceThenSuccess", "impossibleTravel", "riskySignIn", "newAdminRoleAssignment", "servicePrincipalCredential", "passwordSpray"],
  };
  const users: Record<string, number> = { free: 12, p1: 40, p2: 60 };
  return tenants.map((profile) => {
    const contacts = { ...profile.contacts };
    if (sim && contacts.teamsWorkflowUrl) contacts.teamsWorkflowUrl = sim.workflowUrl(profile.tenantId);
    return { profile: { ...profile, contacts }, users: users[profile.licence] ?? 20, attacks: attacks[profile.licence] ?? [] };
  });
}

/** The Microsoft 365 service health issue the poller finds (as Graph served it for the September incident). */
function septemberIssue(): ServiceHealthIssue {
  return {
    startDateTime: "2024-09-02T23:00:00Z",
    endDateTime: "2024-09-19T16:00:00Z",
    lastModifiedDateTime: "2024-10-03T18:00:00Z",
    title: "Some sign-in and audit logs for Microsoft Entra ID may be incomplete",
    id: "EN873226",
    impactDescription: "Admins may find that some sign-in and audit logs for Microsoft Entra ID are incomplete for the period of impact.",
    classification: "incident",
    origin: "microsoft",
    status: "serviceRestored",
    service: "Microsoft Entra",
    feature: "Sign-in logs",
    featureGroup: "Reporting",
    isResolved: true,
    details: [],
    posts: [
      {
        createdDateTime: "2024-10-03T18:00:00Z",
        postType: "regular",
        description: {
          contentType: "Html",
          content: "Title: Some sign-in and audit logs may be incomplete<br><br>User impact: Admins may find that some sign-in and audit logs are incomplete.<br><br>Final status: Starting around 23:00 UTC on 2 September 2024 a bug in an internal monitoring agent prevented some log data from being uploaded. We deployed a fix; logs are complete from 16:00 UTC on 19 September 2024. The missing data cannot be recovered.",
        },
      },
    ],
  };
}

/** The simulator's clock for the app: early October 2024, moving with wall time. */
function offsetClock(startIso: string): Clock {
  const offset = Date.parse(startIso) - Date.now();
  return { now: () => new Date(Date.now() + offset) };
}

export interface DemoIo {
  out(text: string): void;
  /** Progress output (stderr); `tty` redraws in place. */
  progress: { write(text: string): void; tty: boolean };
}

export interface DemoOptions {
  /** Graph's throttle windows divided by this (the output says so). */
  scale: number;
  /** Where the reports go. */
  outDir: string;
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** The host's own log lines (queue retries, function failures) and the functions' logs at this level. */
  verbose?: (line: string) => void;
}

export interface DemoResult {
  seconds: number;
  tenants: { tenantId: string; name: string; licence: string; windows: number; lostHours: number; recordsRead: number; findings: number; rules: string[]; tasks: number }[];
  notices: { received: number; processed: number; synthetic: number };
  controls: { total: number; done: number; failed: number };
  findings: number;
  deliveries: Record<string, number>;
  reports: string[];
}

async function post(stack: EmbeddedStack, route: string, body: unknown, method = "POST"): Promise<void> {
  const response = await fetch(`${stack.host.url}/api/${route}`, {
    method,
    headers: { "content-type": "application/json", "x-functions-key": stack.functionKey },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} /api/${route} answered ${String(response.status)}: ${(await response.text()).slice(0, 300)}`);
}

interface Snapshot {
  notices: { received: number; processed: number; synthetic: number; unmatched: number };
  windows: { count: number; deadlines: string[] };
  /** Every control that ran, superseded ones included (the progress display and the wait for the end). */
  controls: ControlSummary[];
  /** Controls of the windows that exist: what the summary counts. */
  counted: ControlSummary[];
  /** One per detection (distinctFindings). */
  findings: Finding[];
  deliveries: Record<string, number>;
  pendingDeliveries: number;
}

async function snapshot(services: Services, tenantIds: readonly string[], deliveries: DeliveryCounter | undefined): Promise<Snapshot> {
  const notices = { received: 0, processed: 0, synthetic: 0, unmatched: 0 };
  for await (const n of services.notices.listNotices({})) {
    notices.received++;
    if (n.state === "processed") notices.processed++;
    if (n.synthetic) notices.synthetic++;
    if (n.outcome?.unmatched) notices.unmatched++;
  }
  const deadlines = new Set<string>();
  const live = new Set<string>();
  for await (const w of services.ledger.listWindows({})) {
    live.add(w.windowId);
    deadlines.add(w.reviewDeadline.slice(0, 10));
  }
  const controls: ControlSummary[] = [];
  const findings: Finding[] = [];
  for (const id of tenantIds) {
    for await (const c of services.controlRuns.listControls(id)) controls.push(c);
    for await (const f of services.findings.listFindings(id)) findings.push(f);
  }
  const d = await (deliveries ?? countDeliveries)(services, tenantIds);
  // Windows re-keyed by a later notice are gone; their successors took their reviews and findings over.
  return {
    notices,
    windows: { count: live.size, deadlines: [...deadlines].sort() },
    controls,
    counted: controls.filter((c) => live.has(c.windowId)),
    findings: distinctFindings(findings, live),
    deliveries: d.sent,
    pendingDeliveries: d.pending,
  };
}

/** Counts task deliveries per channel (sent) and those still pending. */
export type DeliveryCounter = (services: Services, tenantIds: readonly string[]) => Promise<{ sent: Record<string, number>; pending: number }>;

/** Deliveries from the outbox: sent per channel, and how many are still pending. */
export const countDeliveries: DeliveryCounter = async (services, tenantIds) => {
  const sent: Record<string, number> = {};
  let pending = 0;
  for (const tenantId of tenantIds) {
    for await (const { task } of services.tasks.listTenant(tenantId)) {
      for (const d of await services.deliveries.listForTask(task.id)) {
        if (d.state === "pending") pending++;
        else if (d.state === "sent") sent[d.key] = (sent[d.key] ?? 0) + 1;
      }
    }
  }
  return { sent, pending };
};

const FINISHED = new Set(["done", "failed", "superseded"]);

function bar(ratio: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(ratio * width)));
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

function progressLines(s: Snapshot, names: ReadonlyMap<string, string>): string[] {
  const n = s.notices;
  const live = s.counted;
  const done = live.filter((c) => FINISHED.has(c.state)).length;
  const records = live.reduce((sum, c) => sum + Object.values(c.recordsRead).reduce((a, b) => a + b, 0), 0);
  const waits = live.reduce((sum, c) => sum + c.throttledWaits, 0);
  const byTenant = new Map<string, number>();
  for (const f of s.findings) if (f.rule !== "evidence-lost") byTenant.set(f.tenantId, (byTenant.get(f.tenantId) ?? 0) + 1);
  const findingText = [...names].map(([id, name]) => `${name.split(" ")[0] ?? name} ${String(byTenant.get(id) ?? 0)}`).join(", ");
  const channels = Object.entries(s.deliveries).map(([c, k]) => `${c} ${String(k)}`).join(" · ") || "none yet";
  return [
    `notices   ${bar(n.received === 0 ? 0 : n.processed / n.received)} ${String(n.processed)}/${String(n.received)} processed (${String(n.synthetic)} test action, ${String(n.unmatched)} unmatched)`,
    `windows   ${String(s.windows.count)} blind windows · review deadlines ${s.windows.deadlines.join(", ") || "—"}`,
    `controls  ${bar(live.length === 0 ? 0 : done / live.length)} ${String(done)}/${String(live.length)} done · ${records.toLocaleString("en-US")} records read · ${String(waits)} throttled waits`,
    `findings  ${String(s.findings.filter((f) => f.rule !== "evidence-lost").length)} (${findingText}) · ${String(s.findings.filter((f) => f.rule === "evidence-lost").length)} evidence-lost`,
    `tasks     ${channels}${s.pendingDeliveries > 0 ? ` · ${String(s.pendingDeliveries)} pending` : ""}`,
  ];
}

/** Draws the progress block: in place on a terminal, or a new block when something changed (logs). */
function progressPrinter(io: DemoIo) {
  let drawn = 0;
  let last = "";
  return (lines: string[]) => {
    const text = lines.join("\n");
    if (text === last) return;
    last = text;
    if (io.progress.tty) {
      io.progress.write(`${drawn > 0 ? `\x1b[${String(drawn)}A` : ""}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
      drawn = lines.length;
    } else {
      io.progress.write(`${text}\n\n`);
    }
  };
}

export async function runDemo(io: DemoIo, options: DemoOptions, hooks: { deliveries?: DeliveryCounter; writeReports?: (services: Services, outDir: string, now: Date) => Promise<string[]> } = {}): Promise<DemoResult> {
  const started = performance.now();
  const say = (text: string) => { io.out(text); };
  const seeds = demoTenants(undefined);
  say(`blindwindow demo: the September 2024 logging incident (${DEMO_WINDOW.start} → ${DEMO_WINDOW.end}), replayed as of ${DEMO_NOW}.`);
  say(`Graph's throttling is kept but its windows run ${String(options.scale)}× faster (10 s → ${String(10_000 / options.scale)} ms), so this takes a minute instead of hours.`);

  const sim = await startGraphSimulator({
    seed: 2024,
    now: DEMO_NOW,
    days: 40,
    timeScale: options.scale,
    tenants: seeds.map((t) => ({ id: t.profile.tenantId, displayName: t.profile.name, licence: t.profile.licence, users: t.users, attacks: t.attacks })),
    attacksBetween: DEMO_WINDOW,
    serviceIssues: [septemberIssue()],
    requestLogLimit: 100,
  });
  const tenants = demoTenants(sim);
  const names = new Map(tenants.map((t) => [t.profile.tenantId, t.profile.name]));
  let stack: EmbeddedStack | undefined;
  try {
    const verbose = options.verbose;
    stack = await startEmbeddedStack({
      settings: { BLINDWINDOW_GRAPH_BASE_URL: sim.url, BLINDWINDOW_LOG_LEVEL: verbose ? "info" : "warn" },
      host: { timers: false },
      ...(verbose ? { log: (level: string, message: string) => { verbose(`${level} ${message}`); } } : {}),
    });
    const settings = loadSettings(processEnvironment());
    const clock = offsetClock(DEMO_NOW);
    const services = createServices(settings, { clock, graph: createGraphClientFactory(settings, { timeScale: options.scale }) });
    useServices(services);
    say(`Local host ${stack.host.url} (in-memory Azurite) · Graph simulator ${sim.url}`);
    for (const t of tenants) {
      const attacks = sim.groundTruth.filter((a) => a.tenantId === t.profile.tenantId).length;
      say(`  tenant ${t.profile.name} (${t.profile.licence.toUpperCase()}, ${String(t.users)} users, ${String(attacks)} planted attacks)`);
    }

    await post(stack, "tenants", { tenants: tenants.map((t) => t.profile) }, "PUT");
    // The notices, as they reached customers: the Service Health alert (Active, Resolved, PIR), a test action from
    // an action group, the Microsoft 365 issue the poller finds, and the PIR an operator pastes in.
    for (const file of ["01-active.json", "02-resolved.json", "03-pir.json", "test-action.json"]) {
      await post(stack, "notices/azure-monitor", fixture("incident-2024-09", file));
    }
    await stack.host.runTimer("serviceHealthPoll");
    await post(stack, "notices", fixture("notices", "manual-sept-2024-pir.json"));

    const draw = progressPrinter(io);
    const tenantIds = tenants.map((t) => t.profile.tenantId);
    let last: Snapshot;
    for (;;) {
      last = await snapshot(services, tenantIds, hooks.deliveries);
      draw(progressLines(last, names));
      const live = last.controls.filter((c) => c.state !== "superseded");
      const settled = last.notices.received > 0 && last.notices.processed === last.notices.received && live.length > 0 && live.every((c) => FINISHED.has(c.state)) && last.pendingDeliveries === 0;
      if (settled) {
        // Let in-flight invocations finish (a retry scheduled for later must not hold the demo: the outbox says
        // what is still pending, and that is what the summary reports).
        await stack.host.idle(10_000).catch(() => undefined);
        last = await snapshot(services, tenantIds, hooks.deliveries);
        draw(progressLines(last, names));
        if (last.pendingDeliveries === 0) break;
      }
      if (performance.now() - started > options.timeoutMs) {
        const waiting = last.controls.filter((c) => !FINISHED.has(c.state)).map((c) => `${names.get(c.tenantId) ?? c.tenantId} ${c.control} ${c.state} ${c.windowId} ${c.source}`);
        for await (const r of services.controlRuns.listUnfinished()) options.verbose?.(`unfinished: ${JSON.stringify({ ...r, checkpoint: undefined })}`);
        for await (const w of services.ledger.listWindows({})) options.verbose?.(`window: ${w.tenantId} ${w.source} ${w.windowId}`);
        throw new Error(`the demo did not finish within ${String(Math.round(options.timeoutMs / 1000))} s (still waiting: ${waiting.join(", ") || `${String(last.pendingDeliveries)} deliveries`})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const reports = hooks.writeReports ? await hooks.writeReports(services, options.outDir, clock.now()) : [];
    const result: DemoResult = {
      seconds: Math.round((performance.now() - started) / 100) / 10,
      notices: { received: last.notices.received, processed: last.notices.processed, synthetic: last.notices.synthetic },
      controls: {
        total: last.counted.length,
        done: last.counted.filter((c) => c.state === "done").length,
        failed: last.counted.filter((c) => c.state === "failed").length,
      },
      findings: last.findings.filter((f) => f.rule !== "evidence-lost").length,
      deliveries: last.deliveries,
      reports,
      tenants: tenants.map((t) => {
        const id = t.profile.tenantId;
        const controls = last.counted.filter((c) => c.tenantId === id);
        const findings = last.findings.filter((f) => f.tenantId === id);
        const signIns = controls.filter((c) => c.control === "signin-review");
        const lostHours = signIns.reduce((h, c) => h + (c.coverage.lostFrom && c.coverage.lostTo ? (Date.parse(c.coverage.lostTo) - Date.parse(c.coverage.lostFrom)) / 3_600_000 : 0), 0);
        return {
          tenantId: id,
          name: t.profile.name,
          licence: t.profile.licence,
          windows: new Set(controls.map((c) => c.windowId)).size,
          lostHours: Math.round(lostHours),
          recordsRead: controls.reduce((n, c) => n + (c.control === "preserve" ? 0 : Object.values(c.recordsRead).reduce((a, b) => a + b, 0)), 0),
          findings: findings.filter((f) => f.rule !== "evidence-lost").length,
          rules: [...new Set(findings.filter((f) => f.rule !== "evidence-lost").map((f) => f.rule))].sort(),
          tasks: 0,
        };
      }),
    };
    return result;
  } finally {
    await stack?.close();
    await sim.close();
  }
}

/** The closing summary: one row per tenant, then what was lost, said plainly. */
export function summaryTable(result: DemoResult, options: DemoOptions): string {
  const header = ["tenant", "licence", "windows", "hours lost to retention", "records reviewed", "findings", "rules"];
  const rows = result.tenants.map((t) => [t.name, t.licence.toUpperCase(), String(t.windows), String(t.lostHours), t.recordsRead.toLocaleString("en-US"), String(t.findings), t.rules.join(", ") || "—"]);
  const lines = [textTable(header, rows), ""];
  for (const t of result.tenants) {
    const windowHours = Math.round((Date.parse(DEMO_WINDOW.end) - Date.parse(DEMO_WINDOW.start)) / 3_600_000);
    if (t.lostHours >= windowHours) lines.push(`${t.name} (${t.licence.toUpperCase()}): Entra's retention had already deleted the whole window — ${String(t.lostHours)} hours of sign-ins and audit logs are gone for good; nothing could be reviewed or preserved.`);
    else if (t.lostHours > 0) lines.push(`${t.name} (${t.licence.toUpperCase()}): the first ${String(t.lostHours)} hours of the window had already left retention; the rest was reviewed and preserved.`);
  }
  lines.push("", `Notices ${String(result.notices.processed)}/${String(result.notices.received)} processed (${String(result.notices.synthetic)} test action changed nothing) · controls ${String(result.controls.done)}/${String(result.controls.total)} done · ${String(result.findings)} findings · deliveries ${Object.entries(result.deliveries).map(([c, n]) => `${c} ${String(n)}`).join(", ") || "none"}`);
  if (result.reports.length > 0) lines.push(`Reports: ${result.reports.join(", ")}`);
  lines.push(`Done in ${result.seconds.toFixed(1)} s (Graph throttling scaled ${String(options.scale)}×).`);
  return lines.join("\n");
}
