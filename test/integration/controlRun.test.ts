import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { startGraphSimulator, type GraphSimulator, type GraphSimulatorOptions } from "../../local/graphSimulator/startGraphSimulator.js";
import type { AttackKind, PlantedAttack } from "../../local/graphSimulator/dataGenerator.js";
import { controlRun } from "../../functions/controlRun.js";
import { controlRunDeps } from "../../shared/controlRuntime.js";
import { createGraphClientFactory } from "../../shared/adapters/graph/graphClientFactory.js";
import { GraphReviewSource } from "../../shared/adapters/graph/graphReviewSource.js";
import { runControlTurn, type ControlRunDeps } from "../../shared/app/runControl.js";
import { sweepControls } from "../../shared/app/sweepControls.js";
import { TurnSlots } from "../../shared/app/turnSlots.js";
import type { ReviewSource } from "../../shared/app/reviewSource.js";
import { controlSummary, type ControlSummary } from "../../shared/app/reviewPorts.js";
import { PASS_STREAMS, PassCheckpointSchema, type PassCheckpoint } from "../../shared/app/reviewPass.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";
import { TableControlStore } from "../../shared/adapters/tableReviewStore.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { CONTROLS_BY_SOURCE } from "../../shared/domain/controlPlan.js";
import { findingId, type Finding, type RuleId } from "../../shared/domain/finding.js";
import type { LogSourceId } from "../../shared/domain/logSource.js";
import type { Services } from "../../shared/runtime.js";
import { emptyAccount } from "../support/azurite.js";
import { tenantProfile } from "../support/builders.js";
import { context } from "../support/http.js";
import { ManualClock, peekAll, testServices, type CapturedLog } from "../support/storage.js";

/**
 * The control runner end to end below the host: windows planned through the real planner, turns run against
 * Azurite (tables, queue, blob) and the Graph simulator through the real Graph client. The September 2024 window,
 * seen from the day after it ended.
 */
// Half past: the retention edge (rounded up to the hour) stays 13:00 while the tests' clock moves on by a few leases.
const NOW = "2024-09-20T12:30:00Z";
const WINDOW = { start: "2024-09-02T23:00:00.000Z", end: "2024-09-19T16:00:00.000Z" };
const SOURCES: LogSourceId[] = ["entra-signin", "entra-audit", "entra-risk", "sentinel"];

const SIMULATOR: GraphSimulatorOptions = {
  seed: 7,
  now: NOW,
  days: 30,
  throttling: false,
  tenants: [
    { displayName: "Contoso", licence: "p2", users: 25 },
    { displayName: "Quiet", licence: "p2", users: 25, attacks: [] },
    { displayName: "Fabrikam", licence: "free", users: 8, attacks: [] },
  ],
  attacksBetween: WINDOW,
};

/** The rule that must find each kind of planted attack, and whose subject it names. */
const EXPECTED: Readonly<Record<AttackKind, { rule: RuleId; subject: (a: PlantedAttack) => string }>> = {
  passwordSpray: { rule: "password-spray", subject: (a) => a.ipAddresses[0] ?? "" },
  bruteForceThenSuccess: { rule: "brute-force-success", subject: (a) => a.users[0]?.id ?? "" },
  mfaFatigue: { rule: "mfa-fatigue", subject: (a) => a.users[0]?.id ?? "" },
  impossibleTravel: { rule: "impossible-travel", subject: (a) => a.users[0]?.id ?? "" },
  legacyAuthSuccess: { rule: "legacy-auth-success", subject: (a) => a.users[0]?.id ?? "" },
  riskySignIn: { rule: "risky-signin", subject: (a) => a.users[0]?.id ?? "" },
  newAdminRoleAssignment: { rule: "role-assignment", subject: () => "" },
  consentToApplication: { rule: "consent-grant", subject: () => "" },
  servicePrincipalCredential: { rule: "app-credential-added", subject: () => "" },
};

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});

interface World {
  services: Services;
  deps: ControlRunDeps;
  clock: ManualClock;
  log: CapturedLog;
}

function world(sim: GraphSimulator, overrides: Record<string, string> = {}, wrap?: (source: ReviewSource) => ReviewSource): World {
  const clock = new ManualClock(new Date(NOW));
  const { services, log } = testServices(azurite, { BLINDWINDOW_GRAPH_BASE_URL: sim.url, ...overrides }, clock);
  // The client's own throttle budget is scaled away (the simulator's limits are off): these tests are about results.
  const factory = createGraphClientFactory(services.settings, { timeScale: 10_000, logger: log.logger });
  const source = new GraphReviewSource(factory);
  const reviewServices: Services = { ...services, reviewSource: wrap ? wrap(source) : source };
  return { services: reviewServices, deps: controlRunDeps(reviewServices, log.logger), clock, log };
}

/** What the runner asked Graph for, in order: a stream of a slice begun (or resumed), or one of its pages arrived. */
interface ReadEvent {
  event: "begin" | "page";
  stream: string;
  sliceFrom: string;
}

/** `source` with its pages read through `pages`; the rest as it is. */
function withPages(source: ReviewSource, pages: ReviewSource["pages"]): ReviewSource {
  return {
    privilegedUserIds: (t) => source.privilegedUserIds(t),
    throttledSoFar: () => source.throttledSoFar(),
    describe: (stream, from, to, select) => source.describe(stream, from, to, select),
    pages,
  };
}

/** A world whose planner moves a window once, and where to see it from. */
interface Moving {
  w: World;
  served: () => number;
  moved: () => boolean;
  move: () => Promise<void>;
  /**
   * `w`'s deps with the move made as a pass that has read its whole range saves its last slice: the planner writes
   * after the runner's look at the window for that slice, and the save goes through, with the new bounds.
   */
  closing: ControlRunDeps;
}

/** A world (`settings` over the defaults) whose `replan` runs once: as the `k`-th page arrives (0: never), on `move()`, or via `closing`. */
function movingWorld(sim: GraphSimulator, settings: Record<string, string>, k: number, replan: (w: World) => Promise<void>): Moving {
  let served = 0;
  let moved = false;
  const move = async (): Promise<void> => {
    if (moved) return;
    moved = true;
    await replan(w);
  };
  const w = world(sim, settings, (source) =>
    withPages(source, async function* (tenant, stream, from, to, select, resume) {
      for await (const page of source.pages(tenant, stream, from, to, select, resume)) {
        if (++served === k) await move();
        yield page;
      }
    }),
  );
  const store = w.deps.controlRuns;
  const closing: ControlRunDeps = {
    ...w.deps,
    controlRuns: Object.assign(Object.create(store) as typeof store, {
      save: async (...args: Parameters<typeof store.save>) => {
        const pass = (args[1].checkpoint as { pass?: PassCheckpoint } | undefined)?.pass;
        if (pass && !pass.finished && pass.reading.length === 0 && pass.next === pass.reviewTo) await move();
        return store.save(...args);
      },
    }),
  };
  return { w, served: () => served, moved: () => moved, move, closing };
}

/** `source` whose pages wait until `gate` opens. */
function gated(source: ReviewSource, gate: Promise<void>): ReviewSource {
  return withPages(source, async function* (tenant, stream, from, to, select, resume) {
    await gate;
    yield* source.pages(tenant, stream, from, to, select, resume);
  });
}

/** Pages Graph served the runner, and (optionally) a kill as the n-th page arrives. */
function counting(kills: ReadonlySet<number> = new Set()): { pages: () => number; events: ReadEvent[]; wrap: (source: ReviewSource) => ReviewSource } {
  let pages = 0;
  const events: ReadEvent[] = [];
  return {
    pages: () => pages,
    events,
    wrap: (source) =>
      withPages(source, async function* (tenant, stream, from, to, select, resume) {
        events.push({ event: "begin", stream, sliceFrom: from.toISOString() });
        for await (const page of source.pages(tenant, stream, from, to, select, resume)) {
          events.push({ event: "page", stream, sliceFrom: from.toISOString() });
          pages++;
          if (kills.has(pages)) throw new Error(`worker killed at page ${String(pages)}`);
          yield page;
        }
      }),
  };
}

function windowFor(tenantId: string, source: LogSourceId, retentionDays: number): BlindWindow {
  return {
    tenantId,
    source,
    windowId: `w-sept-${source}`,
    start: WINDOW.start,
    end: WINDOW.end,
    effect: "loss",
    status: "resolved",
    notices: ["azure-monitor~4L44-3F0"],
    reviewDeadline: new Date(Date.parse(WINDOW.start) + retentionDays * 86_400_000).toISOString(),
    history: [],
  };
}

async function planSeptember(w: World, sim: GraphSimulator): Promise<void> {
  const profiles = sim.tenants.map((t) => ({ ...tenantProfile(t.id, t.displayName), licence: t.licence, logSources: SOURCES }));
  await w.services.tenants.putMany(profiles, w.clock.now());
  for (const t of sim.tenants) {
    for (const source of SOURCES) {
      const window = windowFor(t.id, source, t.retentionDays);
      await w.services.ledger.replaceWindows(t.id, source, [window]);
      await w.services.controls.plan(window, CONTROLS_BY_SOURCE[source], w.clock.now());
    }
  }
}

/**
 * Runs turns until the runner is idle, as the queue would: a turn that throws is retried after its lease expires
 * (the sweeper sends the turn). Returns the turns taken and the errors seen.
 */
async function runUntilIdle(w: World, maxTurns = 400): Promise<{ turns: number; errors: number; first?: string }> {
  let turns = 0;
  let errors = 0;
  let first: string | undefined;
  for (; turns < maxTurns; turns++) {
    try {
      const outcome = await runControlTurn(w.deps, `worker-${String(turns)}`);
      if (outcome.kind === "idle") {
        const resumed = await sweepControls(w.deps);
        if (resumed.resumed === 0) return { turns, errors, ...(first ? { first } : {}) };
      } else if (outcome.kind === "ran") {
        first ??= `${outcome.tenantId} ${outcome.control}`;
      }
    } catch {
      errors++;
      // The worker died mid-turn: nothing is claimable until its lease expires.
      w.clock.advance(w.deps.options.leaseMs + 1000);
    }
  }
  throw new Error(`runner still busy after ${String(maxTurns)} turns`);
}

async function allFindings(w: World, sim: GraphSimulator): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const t of sim.tenants) for await (const f of w.services.findings.listFindings(t.id)) out.push(f);
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function allControls(w: World, sim: GraphSimulator): Promise<ControlSummary[]> {
  const out: ControlSummary[] = [];
  for (const t of sim.tenants) for await (const c of w.services.controlRuns.listControls(t.id)) out.push(c);
  return out;
}

/**
 * The evidence as content: per manifest and blob, its path, range, record count and a digest of its record ids
 * (sorted), after checking no record is stored twice. Byte-level equality is not expected across runs that cut the
 * window into different slices (each page is its own gzip member); the records must be the same, each exactly once.
 */
async function evidenceOf(w: World, controls: readonly ControlSummary[]): Promise<unknown[]> {
  const out: unknown[] = [];
  const withEvidence = controls.filter((x) => x.evidence && x.control === "preserve");
  for (const c of withEvidence.sort((a, b) => ((a.evidence?.manifestPath ?? "") < (b.evidence?.manifestPath ?? "") ? -1 : 1))) {
    const manifest = await w.services.evidence.readManifest(c.evidence?.manifestPath ?? "");
    const blobs = [];
    for (const blob of manifest?.blobs ?? []) {
      const ids: string[] = [];
      for await (const line of w.services.evidence.readLines(blob.path)) ids.push((JSON.parse(line) as { id: string }).id);
      expect(new Set(ids).size, `${blob.path} holds a record twice`).toBe(ids.length);
      expect(ids.length).toBe(blob.records);
      // The blob's own hash too: the same review gives the same bytes (blocks in stream and page order), however its
      // pages arrived.
      blobs.push({ path: blob.path, from: blob.from, to: blob.to, records: blob.records, sha256: blob.sha256, ids: createHash("sha256").update(ids.sort().join(",")).digest("hex") });
    }
    out.push({ manifest: c.evidence?.manifestPath, totals: manifest?.totals.records, blobs });
  }
  return out;
}

/** Ids of the records the preserve control stored, blob after blob of its manifest (a record stored twice appears twice). */
async function preservedIds(w: World, sim: GraphSimulator): Promise<string[]> {
  const preserve = (await allControls(w, sim)).find((c) => c.control === "preserve");
  const manifest = await w.services.evidence.readManifest(preserve?.evidence?.manifestPath ?? "");
  const ids: string[] = [];
  for (const blob of manifest?.blobs ?? []) for await (const line of w.services.evidence.readLines(blob.path)) ids.push((JSON.parse(line) as { id: string }).id);
  return ids;
}

/**
 * A Graph simulator for one describe block: started before its tests, closed after them, and before each test a clean
 * account and the simulator's clock back at NOW. `sim` and `tenantId` (its first tenant) are read inside tests.
 */
function simulatorPerDescribe(options: GraphSimulatorOptions): { readonly sim: GraphSimulator; readonly tenantId: string } {
  let started: GraphSimulator | undefined;
  beforeAll(async () => {
    started = await startGraphSimulator(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(async () => {
    await emptyAccount(azurite, ["table", "queue", "blob"]);
    started?.setNow(NOW);
  });
  const sim = (): GraphSimulator => {
    if (!started) throw new Error("the simulator starts in beforeAll: read it inside a test");
    return started;
  };
  return {
    get sim() {
      return sim();
    },
    get tenantId() {
      return sim().tenants[0]?.id ?? "";
    },
  };
}

/** Sign-ins the simulator holds for a tenant in [from, to): the ground truth for what evidence must contain. */
function signInsBetween(sim: GraphSimulator, tenantId: string, from: string, to: string): Set<string> {
  const ids = new Set<string>();
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  for (let hour = Math.floor(fromMs / 3_600_000); hour * 3_600_000 < toMs; hour++) {
    for (const s of sim.dataset.signInsInHour(tenantId, hour)) if (s.t >= fromMs && s.t < toMs) ids.add(s.r.id);
  }
  return ids;
}

describe("control runner: September 2024 window against Azurite and the Graph simulator", () => {
  let sim: GraphSimulator;
  let reference: { findings: Finding[]; evidence: unknown[] };
  beforeAll(async () => {
    sim = await startGraphSimulator(SIMULATOR);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await emptyAccount(azurite, ["table", "queue", "blob"]);
  });

  it("reviews every window, finds every planted attack, nothing on a quiet tenant, and says what retention already took", async () => {
    const w = world(sim);
    await planSeptember(w, sim);
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    // The Free tenant's hours leave retention first (7 days): it is reviewed before the P2 tenants.
    const fabrikam = sim.tenants.find((t) => t.displayName === "Fabrikam");
    expect(run.first?.startsWith(fabrikam?.id ?? "?")).toBe(true);

    const controls = await allControls(w, sim);
    expect(controls).toHaveLength(sim.tenants.length * 6);
    expect(controls.filter((c) => c.state !== "done")).toEqual([]);

    const findings = await allFindings(w, sim);
    const [contoso, quiet] = sim.tenants;
    for (const attack of sim.groundTruth) {
      const expected = EXPECTED[attack.kind];
      const hits = findings.filter((f) => f.tenantId === attack.tenantId && f.rule === expected.rule);
      const subject = expected.subject(attack);
      const match = hits.filter((f) => subject === "" || f.subject.id === subject);
      expect(match.length, `${attack.kind}: ${attack.description}`).toBeGreaterThan(0);
      const planted = new Set([...attack.signInIds, ...attack.auditIds, ...attack.riskDetectionIds]);
      expect(match.some((f) => f.sampleIds.some((id) => planted.has(id))), `${attack.kind} names a planted record`).toBe(true);
    }
    expect(findings.filter((f) => f.tenantId === quiet?.id)).toEqual([]);
    expect(findings.filter((f) => f.tenantId === contoso?.id).every((f) => f.rule !== "evidence-lost")).toBe(true);

    // Fabrikam (Free, 7 days): the window before 2024-09-13T13:00Z (the first whole retained hour) was gone when the review began, and says so.
    const lost = findings.filter((f) => f.tenantId === fabrikam?.id);
    expect(new Set(lost.map((f) => f.rule))).toEqual(new Set(["evidence-lost"]));
    const fabrikamSignIns = controls.find((c) => c.tenantId === fabrikam?.id && c.control === "signin-review");
    expect(fabrikamSignIns?.coverage).toEqual({ reviewedFrom: "2024-09-13T13:00:00.000Z", reviewedTo: WINDOW.end, lostFrom: WINDOW.start, lostTo: "2024-09-13T13:00:00.000Z" });

    // Evidence: the sign-ins of the reviewed range, each exactly once, in immutable day blobs with a manifest.
    const preserve = controls.find((c) => c.tenantId === contoso?.id && c.source === "entra-signin" && c.control === "preserve");
    expect(preserve?.evidence).toBeDefined();
    const manifest = await w.services.evidence.readManifest(preserve?.evidence?.manifestPath ?? "");
    const truth = signInsBetween(sim, contoso?.id ?? "", WINDOW.start, WINDOW.end);
    expect(manifest?.totals.records).toBe(truth.size);
    const stored: string[] = [];
    for (const blob of manifest?.blobs ?? []) {
      for await (const line of w.services.evidence.readLines(blob.path)) stored.push((JSON.parse(line) as { id: string }).id);
    }
    expect(stored.length).toBe(truth.size);
    expect(new Set(stored)).toEqual(truth);
    expect(manifest?.blobs.length).toBe(18); // 2 Sept 23:00 → 19 Sept 16:00 touches 18 days

    // The hunt checklist for Sentinel is done, and a runner turn left no poison behind.
    expect(controls.filter((c) => c.source === "sentinel").every((c) => c.control === "hunt-checklist" && c.state === "done")).toBe(true);
    expect(await peekAll(azurite, "controls-poison")).toEqual([]);
    reference = { findings, evidence: await evidenceOf(w, controls) };
  });

  it("a review cut into one page per turn (time budget spent at once) gives identical findings and evidence", async () => {
    expect(reference).toBeDefined();
    const w = world(sim, { BLINDWINDOW_CONTROL_BUDGET_SECONDS: "1", BLINDWINDOW_REVIEW_CONCURRENCY: "1" });
    const deps: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    await planSeptember(w, sim);
    const run = await runUntilIdle({ ...w, deps });
    expect(run.turns).toBeGreaterThan(40); // many turns, each one page
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
    // Each continuation was handed on through the queue.
    expect((await peekAll(azurite, "controls")).length).toBeGreaterThan(0);
  });

  it("a worker killed mid-review resumes from its checkpoint after the lease: identical findings and evidence", async () => {
    const killAt = new Set([7, 19, 33, 58]);
    // Short leases (budget 1 s + 2 min): each crash costs the clock one lease, not ten minutes.
    const w = world(sim, { BLINDWINDOW_CONTROL_BUDGET_SECONDS: "1" }, counting(killAt).wrap);
    await planSeptember(w, sim);
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(killAt.size);
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
  });

  it("20% injected 429 / 5xx / dropped connections change nothing in the findings or evidence", async () => {
    // timeScale scales the injected Retry-After (1 s) down like every other wait; the limits stay off.
    const stormy = await startGraphSimulator({ ...SIMULATOR, timeScale: 1000, faults: { rate: 0.2, kinds: ["429", "500", "502", "503", "504", "drop"], seed: 11 } });
    try {
      const w = world(stormy);
      await planSeptember(w, stormy);
      await runUntilIdle(w);
      expect(stormy.requests.filter((r) => r.fault !== undefined).length).toBeGreaterThan(10);
      const findings = await allFindings(w, stormy);
      expect(findings).toEqual(reference.findings);
      expect(await evidenceOf(w, await allControls(w, stormy))).toEqual(reference.evidence);
      const throttled = (await allControls(w, stormy)).reduce((n, c) => n + c.throttledWaits, 0);
      expect(throttled).toBeGreaterThan(0);
    } finally {
      await stormy.close();
    }
  });

  it("turns beyond an instance's slots wait for one; a turn that waits too long hands its message back to the queue", async () => {
    // Graph answers only once the gate opens: the first turn holds its slot meanwhile.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const w = world(sim, {}, (source) => gated(source, gate));
    const tenantId = sim.tenants[0]?.id ?? "";
    await w.services.tenants.putMany([{ ...tenantProfile(tenantId, "Contoso"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    const window = windowFor(tenantId, "entra-signin", 30);
    await w.services.ledger.replaceWindows(tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review"], w.clock.now());

    const sent: { queue: string; message: unknown; delaySeconds: number | undefined }[] = [];
    const slots = new TurnSlots(1, { waitMs: 150 });
    const deps: ControlRunDeps = {
      ...w.deps,
      turnSlots: slots,
      queue: {
        send: async (queue, message, options) => {
          sent.push({ queue, message, delaySeconds: options?.delaySeconds });
          await w.deps.queue.send(queue, message, options);
        },
      },
    };
    const message = { v: 1, kind: "control", tenantId, windowId: window.windowId, control: "signin-review" } as const;
    // A free slot is taken before the turn's first await.
    const first = runControlTurn(deps, "first", message);
    expect(slots.busy).toBe(1);
    // The second turn finds no slot within its wait: it claims nothing and its message goes back, delayed.
    const second = await runControlTurn(deps, "second", message);
    expect(second).toEqual({ kind: "deferred" });
    expect(sent).toEqual([{ queue: "controls", message, delaySeconds: 30 }]);
    expect((await allControls(w, sim)).find((c) => c.control === "signin-review")?.state).toBe("running");
    // A third waits, and runs once the first is done with its slot.
    const waitingSlots = new TurnSlots(1, { waitMs: 60_000 });
    const holder = await waitingSlots.acquire();
    const third = runControlTurn({ ...deps, turnSlots: waitingSlots }, "third", message);
    expect(waitingSlots.busy).toBe(1);
    holder?.();
    openGate();
    expect((await first).kind).toBe("ran");
    expect((await third).kind).not.toBe("deferred");
    expect(slots.busy).toBe(0);
    expect(waitingSlots.busy).toBe(0);
  });

  it("a review slower than retention raises deadline-at-risk at its first window checkpoint, once, and puts it on the task", async () => {
    const w = world(sim, { BLINDWINDOW_CONTROL_BUDGET_SECONDS: "1" });
    // Graph this slow: every stopwatch reading is 3 days later than the last, so a slice (at most a day of data) takes
    // days of wall time (pace below 1): the window's newest hours would leave retention before being read.
    let wall = 0;
    const deps: ControlRunDeps = { ...w.deps, stopwatch: () => (wall += 3 * 86_400_000) };
    const contoso = sim.tenants[0];
    const tenantId = contoso?.id ?? "";
    await w.services.tenants.putMany([{ ...tenantProfile(tenantId, "Contoso"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    const window = windowFor(tenantId, "entra-signin", 30);
    await w.services.ledger.replaceWindows(tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review"], w.clock.now());

    const atRisk = async () => {
      const out: Finding[] = [];
      for await (const f of w.services.findings.listFindings(tenantId)) if (f.rule === "deadline-at-risk") out.push(f);
      return out;
    };
    // Baseline turns first (the week before the window: no pace is measured on them), then the first window slice.
    let turns = 0;
    while ((await atRisk()).length === 0 && turns < 40) {
      const outcome = await runControlTurn(deps, `slow-${String(turns++)}`);
      expect(outcome.kind, `turn ${String(turns)}: ${JSON.stringify(outcome)} ${JSON.stringify(await allControls(w, sim))}`).toBe("ran");
    }
    const [finding] = await atRisk();
    expect(finding).toMatchObject({ severity: "high", subject: { kind: "tenant", id: tenantId }, windowId: window.windowId });
    expect(finding?.explanation).toContain(`review of ${WINDOW.start}`);
    const control = (await allControls(w, sim)).find((c) => c.control === "signin-review");
    // Raised at once: the review has only begun, oldest hours first.
    expect(control?.state).toBe("running");
    expect(control?.coverage.reviewedFrom).toBe(WINDOW.start);
    expect(Date.parse(control?.coverage.reviewedTo ?? "")).toBeLessThan(Date.parse(WINDOW.start) + 2 * 86_400_000);
    // The task says so now, not when the review ends.
    const tasks: string[] = [];
    for await (const { task } of w.services.tasks.listTenant(tenantId)) tasks.push(JSON.stringify(task.content));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toContain("deadline-at-risk");
    // Raised once: more slow turns add no second one.
    for (let i = 0; i < 3; i++) await runControlTurn(deps, `slow-more-${String(i)}`);
    expect(await atRisk()).toHaveLength(1);
  });

  it("a window merged away is superseded; a bad message goes to controls-poison; logs carry no records or tokens", async () => {
    const w = world(sim);
    await planSeptember(w, sim);
    const quiet = sim.tenants[1];
    await w.services.ledger.replaceWindows(quiet?.id ?? "", "entra-signin", []);
    const poisoned = await controlRun({ v: 1, kind: "control", tenantId: 42 }, context("controlRun"), w.services);
    expect(poisoned.kind).toBe("poisoned");
    expect(await peekAll(azurite, "controls-poison")).toHaveLength(1);
    await runUntilIdle(w);
    const controls = await allControls(w, sim);
    const superseded = controls.filter((c) => c.state === "superseded");
    expect(superseded.map((c) => `${c.tenantId} ${c.control}`).sort()).toEqual([`${quiet?.id ?? ""} preserve`, `${quiet?.id ?? ""} signin-review`]);
    const text = w.log.lines.join("\n");
    expect(text).not.toMatch(/Bearer|eyJ[A-Za-z0-9_-]{10,}/);
    const someSignIn = [...signInsBetween(sim, sim.tenants[0]?.id ?? "", WINDOW.start, "2024-09-03T06:00:00Z")][0] ?? "none";
    expect(text).not.toContain(someSignIn);
  });
});

/**
 * A checkpoint after every page: a tenant busy enough that each slice of a two-day window spans several Graph pages
 * per stream (400 users, about 8,000 sign-ins a day), so "where did the run stop" falls inside slices.
 */
describe("control runner: a checkpoint after every page, resumed at the next page", () => {
  const BIG_WINDOW = { start: "2024-09-17T00:00:00.000Z", end: "2024-09-19T00:00:00.000Z" };
  const SETTINGS = { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" };
  let sim: GraphSimulator;
  let tenantId: string;
  let reference: { findings: Finding[]; evidence: unknown[]; pages: number };

  beforeAll(async () => {
    sim = await startGraphSimulator({ seed: 3, now: NOW, days: 10, throttling: false, tenants: [{ displayName: "Big", licence: "p2", users: 400 }], attacksBetween: BIG_WINDOW });
    tenantId = sim.tenants[0]?.id ?? "";
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await emptyAccount(azurite, ["table", "queue", "blob"]);
  });

  /** Registers the tenant and plans the window "w-big" (ending at `end`) as the pipeline would. */
  async function plan(w: World, end: string = BIG_WINDOW.end): Promise<void> {
    await planWindow(w, { ...BIG_WINDOW, end });
  }

  /** Registers the tenant and plans "w-big" with the given bounds. */
  async function planWindow(w: World, bounds: { start: string; end: string }): Promise<void> {
    await w.services.tenants.putMany([{ ...tenantProfile(tenantId, "Big"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    await replan(w, { ...windowFor(tenantId, "entra-signin", 30), ...bounds, windowId: "w-big" });
  }

  /**
   * What a review of "w-big" with these bounds finds, preserves and reads when planned so from the start; the account
   * is emptied after.
   */
  async function asPlanned(bounds: { start: string; end: string }): Promise<{ findings: Finding[]; evidence: string[]; pages: number }> {
    const count = counting();
    const w = world(sim, SETTINGS, count.wrap);
    await planWindow(w, bounds);
    await runUntilIdle(w);
    const planned = { findings: await findingsOf(w, "w-big"), evidence: await evidenceIds(w, "w-big"), pages: count.pages() };
    await emptyAccount(azurite, ["table", "queue", "blob"]);
    return planned;
  }

  /** A world whose planner moves "w-big" to `bounds` as the `k`-th page arrives (or when `move()` is called), once. */
  function moving(bounds: { start: string; end: string }, k = 0): Moving {
    return movingWorld(sim, SETTINGS, k, (w) => replan(w, { ...windowFor(tenantId, "entra-signin", 30), ...bounds, windowId: "w-big" }));
  }

  /** The ledger now holds `window` alone for the tenant's sign-ins (the previous one is gone when the id differs). */
  async function replan(w: World, window: BlindWindow): Promise<void> {
    await w.services.ledger.replaceWindows(tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review", "preserve"], w.clock.now());
  }

  async function spooled(w: World): Promise<string[]> {
    const names: string[] = [];
    const container = storageAccountFromSettings(w.services.settings).blobService().getContainerClient(w.services.settings.BLINDWINDOW_SPOOL_CONTAINER);
    if (!(await container.exists())) return names;
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    return names;
  }

  async function storedPass(w: World): Promise<PassCheckpoint> {
    const row = await w.services.controlRuns.get(tenantId, "w-big", "signin-review");
    return PassCheckpointSchema.parse((row?.checkpoint as { pass?: unknown } | undefined)?.pass);
  }

  it("an uninterrupted review finds the planted attacks and leaves nothing spooled", async () => {
    const count = counting();
    const w = world(sim, SETTINGS, count.wrap);
    await plan(w);
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    const findings = await allFindings(w, sim);
    expect(findings.length).toBeGreaterThan(0);
    const controls = await allControls(w, sim);
    expect(controls.map((c) => c.state)).toEqual(["done", "done"]);
    const review = controls.find((c) => c.control === "signin-review");
    // Several pages per stream and slice: a stop can fall inside a slice.
    expect(review?.pages).toBeGreaterThan(12);
    expect(await spooled(w)).toEqual([]);
    // A slice's two streams are read side by side: both are asked for before the slice's first page arrives.
    const slices = [...new Set(count.events.map((e) => e.sliceFrom))];
    expect(slices.length).toBeGreaterThan(3);
    for (const slice of slices) {
      const firstPage = count.events.findIndex((e) => e.sliceFrom === slice && e.event === "page");
      const begun = count.events.slice(0, firstPage).filter((e) => e.sliceFrom === slice && e.event === "begin").map((e) => e.stream);
      expect(begun.sort(), slice).toEqual(["signIns:beta", "signIns:v1.0"]);
    }
    reference = { findings, evidence: await evidenceOf(w, controls), pages: count.pages() };
  });

  it("a worker killed mid-slice resumes at the page after its last checkpoint: each kill costs one page, same findings and evidence", async () => {
    expect(reference).toBeDefined();
    const kills = new Set([4, 9, 15]);
    const count = counting(kills);
    const w = world(sim, SETTINGS, count.wrap);
    await plan(w);
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(kills.size);
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
    // Only the page each kill interrupted is read again (a checkpoint per slice would re-read the slices begun).
    expect(count.pages() - reference.pages).toBe(kills.size);
    expect(await spooled(w)).toEqual([]);
  });

  it("with detector state too large for the row (spilled to Blob), a killed review gives the same findings and evidence", async () => {
    expect(reference).toBeDefined();
    const kills = new Set([5, 12]);
    const count = counting(kills);
    const w = world(sim, SETTINGS, count.wrap);
    // Every detector state above 512 bytes of gzip goes to Blob.
    const controlRuns = new TableControlStore(storageAccountFromSettings(w.services.settings), { container: w.services.settings.BLINDWINDOW_SPOOL_CONTAINER, inlineMaxBytes: 512 });
    const deps: ControlRunDeps = { ...w.deps, controlRuns };
    await plan(w);
    const run = await runUntilIdle({ ...w, deps });
    expect(run.errors).toBe(kills.size);
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
    expect(count.pages() - reference.pages).toBe(kills.size);
    // Only the finished review's last state is left, named by its row; no page is left in the spool.
    const left = await spooled(w);
    expect(left).toEqual([expect.stringMatching(new RegExp(`^detector-state/${tenantId}/w-big/signin-review/[0-9a-f]{64}\\.json\\.gz$`))]);
    expect((await controlRuns.get(tenantId, "w-big", "signin-review"))?.detectorRef).toMatch(/@blob$/);
  });

  it("a turn out of time stops after its current page; the next goes on from the cursor and the spool holds exactly the pages read", async () => {
    expect(reference).toBeDefined();
    const count = counting();
    const w = world(sim, SETTINGS, count.wrap);
    const deps: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    await plan(w);
    let insideStream = 0;
    for (let turn = 0; turn < 200; turn++) {
      const before = count.pages();
      const outcome = await runControlTurn(deps, `turn-${String(turn)}`);
      if (outcome.kind === "idle") break;
      // Out of time from the start: every turn reads one page (at least one, so every turn makes progress).
      expect(count.pages() - before).toBe(1);
      const cp = await storedPass(w);
      if (cp.finished) continue;
      // The checkpoint names exactly the pages in the spool, and none of a slice already consumed.
      const expected = cp.reading.flatMap((c) => c.streams.flatMap((s, i) => Array.from({ length: s.pages }, (_, p) => `pages/${tenantId}/w-big/signins/g0/${c.from}/${PASS_STREAMS.signins[i] ?? "?"}/${String(p)}.json`)));
      expect((await spooled(w)).sort()).toEqual(expected.sort());
      if (cp.reading.some((c) => c.streams.some((st) => st.nextLink !== null))) insideStream++;
    }
    // Many turns stopped inside a stream, between two pages Graph links with a nextLink.
    expect(insideStream).toBeGreaterThan(5);
    expect(count.pages()).toBe(reference.pages);
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
    expect(await spooled(w)).toEqual([]);
  });

  /** The reference findings as a window named `windowId` holds them. */
  const renamed = (findings: readonly Finding[], windowId: string): Finding[] =>
    findings.map((f) => ({ ...f, id: findingId(f.tenantId, windowId, f), windowId })).sort((a, b) => (a.id < b.id ? -1 : 1));

  async function findingsOf(w: World, windowId: string): Promise<Finding[]> {
    const out: Finding[] = [];
    for await (const f of w.services.findings.listFindings(tenantId, windowId)) out.push(f);
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Record ids of every evidence blob a window's manifest lists, each stored once. */
  async function evidenceIds(w: World, windowId: string): Promise<string[]> {
    const preserve = (await allControls(w, sim)).find((c) => c.windowId === windowId && c.control === "preserve");
    const manifest = await w.services.evidence.readManifest(preserve?.evidence?.manifestPath ?? "");
    expect(manifest?.windowId).toBe(windowId);
    const ids: string[] = [];
    for (const blob of manifest?.blobs ?? []) for await (const line of w.services.evidence.readLines(blob.path)) ids.push((JSON.parse(line) as { id: string }).id);
    expect(new Set(ids).size, "a record stored twice").toBe(ids.length);
    expect(manifest?.totals.records).toBe(ids.length);
    return ids.sort();
  }

  /**
   * The review of "w-big" is done over the whole window, logged `line`, with the uninterrupted run's findings and
   * evidence.
   */
  async function expectWholeWindow(w: World, line: string): Promise<void> {
    const review = (await allControls(w, sim)).find((c) => c.control === "signin-review");
    expect(review).toMatchObject({ state: "done", coverage: { reviewedFrom: BIG_WINDOW.start, reviewedTo: BIG_WINDOW.end } });
    expect(w.log.lines.join("\n")).toContain(line);
    expect(await findingsOf(w, "w-big")).toEqual(reference.findings);
    expect(await evidenceIds(w, "w-big")).toEqual(referenceIds());
  }

  /** Sign-in ids of the whole window (what its evidence must hold). */
  const referenceIds = (): string[] => [...signInsBetween(sim, tenantId, BIG_WINDOW.start, BIG_WINDOW.end)].sort();

  /**
   * "w-big" planned and its review read one page per turn, `pages` turns or until `enough` says so; Graph's pages
   * counted.
   */
  async function partlyRead(pages: number, enough: (w: World) => Promise<boolean> = () => Promise.resolve(false)): Promise<{ w: World; count: ReturnType<typeof counting> }> {
    const count = counting();
    const w = world(sim, SETTINGS, count.wrap);
    const onePage: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    await plan(w);
    for (let turn = 0; turn < pages; turn++) {
      await runControlTurn(onePage, `turn-${String(turn)}`);
      if (await enough(w)) break;
    }
    return { w, count };
  }

  /** The window as a later notice makes it ("w-big-2"): one more notice, so a new id. */
  function merged(): BlindWindow {
    return { ...windowFor(tenantId, "entra-signin", 30), ...BIG_WINDOW, windowId: "w-big-2", notices: ["azure-monitor~4L44-3F0", "m365~EX871234"] };
  }

  it("a window a later notice re-keys takes its review over mid-slice: no page read twice, the same findings and evidence", async () => {
    expect(reference).toBeDefined();
    // One page per turn until the review has fed slices to the detectors, written findings and stands inside a slice.
    const { w, count } = await partlyRead(200, async (at) => {
      const cp = await storedPass(at);
      return cp.next > BIG_WINDOW.start && cp.reading.some((c) => c.streams.some((st) => st.pages > 0)) && (await findingsOf(at, "w-big")).length > 0;
    });
    const before = count.pages();
    expect(before).toBeGreaterThan(3);
    expect(before).toBeLessThan(reference.pages);

    await replan(w, merged());
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    expect(w.log.lines.join("\n")).toContain("review taken over from the window this one replaced");

    // Every page was read once, over both windows.
    expect(count.pages()).toBe(reference.pages);
    const controls = await allControls(w, sim);
    expect(controls.map((c) => `${c.windowId} ${c.control} ${c.state}`).sort()).toEqual(["w-big preserve superseded", "w-big signin-review superseded", "w-big-2 preserve done", "w-big-2 signin-review done"]);
    const review = controls.find((c) => c.windowId === "w-big-2" && c.control === "signin-review");
    expect(review?.pages).toBe(reference.pages);
    expect(review?.coverage).toMatchObject({ reviewedFrom: BIG_WINDOW.start, reviewedTo: BIG_WINDOW.end });
    expect(await findingsOf(w, "w-big-2")).toEqual(renamed(reference.findings, "w-big-2"));
    expect(await evidenceIds(w, "w-big-2")).toEqual(referenceIds());
    // The old review's checkpoint names the window it went to: no third window can take it too.
    const old = await w.services.controlRuns.get(tenantId, "w-big", "signin-review");
    expect((old?.checkpoint as { handedTo?: string } | undefined)?.handedTo).toBe("w-big-2");
    expect(await spooled(w)).toEqual([]);
  });

  it("a worker that dies in the middle of a hand-over: the next one repeats it to the same window, no page read twice", async () => {
    expect(reference).toBeDefined();
    const { w, count } = await partlyRead(8);
    await replan(w, merged());
    // The new window's row takes the review over in one save after the old row is fenced: that save dies once.
    let died = 0;
    const store = w.deps.controlRuns;
    const dying: ControlRunDeps = {
      ...w.deps,
      controlRuns: {
        get: (t, wi, c) => store.get(t, wi, c),
        listControls: (t, wi) => store.listControls(t, wi),
        listUnfinished: () => store.listUnfinished(),
        claim: (row, owner, until, at) => store.claim(row, owner, until, at),
        save: (row, update) => {
          if (died === 0 && row.windowId === "w-big-2" && row.checkpoint === undefined && update.checkpoint !== undefined) {
            died++;
            return Promise.reject(new Error("worker died during the hand-over"));
          }
          return store.save(row, update);
        },
      },
    };
    const run = await runUntilIdle({ ...w, deps: dying });
    expect(died).toBe(1);
    expect(run.errors).toBe(1);
    const old = await w.services.controlRuns.get(tenantId, "w-big", "signin-review");
    expect(old?.state).toBe("superseded");
    expect((old?.checkpoint as { handedTo?: string } | undefined)?.handedTo).toBe("w-big-2");
    expect(count.pages()).toBe(reference.pages);
    expect(await findingsOf(w, "w-big-2")).toEqual(renamed(reference.findings, "w-big-2"));
    expect(await evidenceIds(w, "w-big-2")).toEqual(referenceIds());
  });

  it("a review taken over while its worker is still reading: that worker loses its lease at its next save and stops", async () => {
    expect(reference).toBeDefined();
    const { w, count } = await partlyRead(6);
    // The old window's worker goes on reading, but Graph answers it only once the gate opens.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const source = w.deps.reviewSource;
    if (!source) throw new Error("no review source");
    const slow: ControlRunDeps = { ...w.deps, reviewSource: gated(source, gate) };
    const oldTurn = runControlTurn(slow, "old-worker");
    // Let it claim the row and ask Graph for its pages.
    for (let i = 0; i < 50 && (await w.services.controlRuns.get(tenantId, "w-big", "signin-review"))?.leaseOwner !== "old-worker"; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await w.services.controlRuns.get(tenantId, "w-big", "signin-review"))?.leaseOwner).toBe("old-worker");

    await replan(w, merged());
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    openGate();
    expect(await oldTurn).toMatchObject({ kind: "ran", windowId: "w-big", state: "running", continued: false });
    expect(w.log.lines.join("\n")).toContain("lease lost: another worker took the control over");
    const old = await w.services.controlRuns.get(tenantId, "w-big", "signin-review");
    expect(old).toMatchObject({ state: "superseded" });
    expect((old?.checkpoint as { handedTo?: string } | undefined)?.handedTo).toBe("w-big-2");
    expect((await allControls(w, sim)).filter((c) => c.windowId === "w-big-2").map((c) => c.state)).toEqual(["done", "done"]);
    expect(await findingsOf(w, "w-big-2")).toEqual(renamed(reference.findings, "w-big-2"));
    expect(await evidenceIds(w, "w-big-2")).toEqual(referenceIds());
    // The new window read every page once; the old worker only took in what it had asked for: at most its current
    // page and the one read ahead, per stream (2) of each slice in flight (3).
    expect(count.pages()).toBeGreaterThanOrEqual(reference.pages);
    expect(count.pages()).toBeLessThanOrEqual(reference.pages + 2 * 2 * 3);
  });

  it("a finished review handed to a window that ends later reads only the new hours", async () => {
    expect(reference).toBeDefined();
    const count = counting();
    const w = world(sim, SETTINGS, count.wrap);
    // The first notice said the incident ended 12 hours earlier than it did.
    const earlyEnd = "2024-09-18T12:00:00.000Z";
    await plan(w, earlyEnd);
    await runUntilIdle(w);
    const firstPages = count.pages();
    expect(firstPages).toBeLessThan(reference.pages);

    await replan(w, merged());
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    // Only the last 12 hours were read (a fresh start would have read the whole window again).
    const later = count.pages() - firstPages;
    expect(later).toBeGreaterThan(0);
    expect(later).toBeLessThan(reference.pages - firstPages + 4);
    const controls = await allControls(w, sim);
    expect(controls.map((c) => `${c.windowId} ${c.control} ${c.state}`).sort()).toEqual(["w-big preserve done", "w-big signin-review done", "w-big-2 preserve done", "w-big-2 signin-review done"]);
    expect(controls.find((c) => c.windowId === "w-big-2" && c.control === "signin-review")?.coverage).toMatchObject({ reviewedFrom: BIG_WINDOW.start, reviewedTo: BIG_WINDOW.end });
    expect(await findingsOf(w, "w-big-2")).toEqual(renamed(reference.findings, "w-big-2"));
    expect(await evidenceIds(w, "w-big-2")).toEqual(referenceIds());
  });

  it("a window whose end moves later while its review runs is read to the new end", async () => {
    expect(reference).toBeDefined();
    const w = world(sim, SETTINGS);
    const onePage: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    const earlyEnd = "2024-09-18T12:00:00.000Z";
    await plan(w, earlyEnd);
    for (let turn = 0; turn < 6; turn++) await runControlTurn(onePage, `turn-${String(turn)}`);
    expect((await storedPass(w)).finished).toBe(false);
    // A revision of the same notice moves the end (same notices, same window id) while the review is running.
    await replan(w, { ...windowFor(tenantId, "entra-signin", 30), ...BIG_WINDOW, windowId: "w-big" });
    await runUntilIdle(w);
    await expectWholeWindow(w, "the window's end moved past the range read");
  });

  it("a window whose start moves earlier during a turn (while it reads, or as it closes) is reviewed again from the new start", async () => {
    expect(reference).toBeDefined();
    const wider = { start: "2024-09-16T12:00:00.000Z", end: BIG_WINDOW.end };
    const expected = await asPlanned(wider);

    // A revision moves the start 12 hours earlier (same notices, same id) as the 5th page arrives, or as the pass
    // that read the old range closes: the planner writes while the last slice's checkpoint is being saved, after the
    // runner's look at the window for that slice (the save goes through, with the new bounds).
    for (const when of ["reading", "closing"] as const) {
      const { w, served, moved, closing } = moving(wider, when === "reading" ? 5 : 0);
      await plan(w);
      await runUntilIdle(when === "closing" ? { ...w, deps: closing } : w);
      expect(moved(), when).toBe(true);
      const review = (await allControls(w, sim)).find((c) => c.control === "signin-review");
      expect(review, when).toMatchObject({ state: "done", coverage: { reviewedFrom: wider.start, reviewedTo: BIG_WINDOW.end } });
      expect(w.log.lines.join("\n"), when).toContain(when === "reading" ? "the window's bounds moved while it was reviewed" : "the window's start moved while it was reviewed: the review starts again");
      expect(await findingsOf(w, "w-big"), when).toEqual(expected.findings);
      expect(await evidenceIds(w, "w-big"), when).toEqual(expected.evidence);
      // Reading, the turn stops at the slice it is consuming instead of reading the old range to its end first.
      if (when === "reading") expect(served()).toBeLessThan(expected.pages + reference.pages);
      else expect(served()).toBe(expected.pages + reference.pages);
      await emptyAccount(azurite, ["table", "queue", "blob"]);
    }
  });

  it("a window whose end moves earlier before its review reaches that day stops at the new end, as if planned so", async () => {
    expect(reference).toBeDefined();
    const shorter = { start: BIG_WINDOW.start, end: "2024-09-18T06:00:00.000Z" };
    const expected = await asPlanned(shorter);
    // A PIR shortens the incident while the first slices are read.
    const { w, served } = moving(shorter, 2);
    await plan(w);
    expect((await runUntilIdle(w)).errors).toBe(0);
    const review = (await allControls(w, sim)).find((c) => c.control === "signin-review");
    expect(review).toMatchObject({ state: "done", coverage: { reviewedFrom: BIG_WINDOW.start, reviewedTo: shorter.end } });
    expect(w.log.lines.join("\n")).toContain("the window's end moved earlier: the review stops sooner");
    expect(await findingsOf(w, "w-big")).toEqual(expected.findings);
    expect(await evidenceIds(w, "w-big")).toEqual(expected.evidence);
    // The 18 hours after the new end were not read (the whole window is `reference.pages`).
    expect(served()).toBeLessThan(reference.pages);
    expect(served()).toBeLessThanOrEqual(expected.pages + 2);
  });

  it("a window whose end moves later just as its review finishes is read to the new end", async () => {
    expect(reference).toBeDefined();
    const w = world(sim, SETTINGS);
    // The planner writes the new end after the runner's last look at the window, while it writes the manifest.
    let moved = false;
    const evidence = w.deps.evidence;
    const racing: ControlRunDeps = {
      ...w.deps,
      evidence: Object.assign(Object.create(evidence) as typeof evidence, {
        writeManifest: async (...args: Parameters<typeof evidence.writeManifest>) => {
          if (!moved) {
            moved = true;
            await replan(w, { ...windowFor(tenantId, "entra-signin", 30), ...BIG_WINDOW, windowId: "w-big" });
          }
          return evidence.writeManifest(...args);
        },
      }),
    };
    await plan(w, "2024-09-18T12:00:00.000Z");
    let turns = 0;
    while (turns < 100 && (await runControlTurn(racing, `turn-${String(turns)}`)).kind !== "idle") turns++;
    expect(moved).toBe(true);
    await expectWholeWindow(w, "the window's bounds moved as the review finished");
  });

  it("a slice whose nextLink Graph refuses, or whose spooled pages are gone, is read again from its start: same findings and evidence", async () => {
    expect(reference).toBeDefined();
    const w = world(sim, SETTINGS);
    const deps: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    await plan(w);
    // Turns of one page each until the slice being read stands inside a stream.
    const inside = (cp: PassCheckpoint) => cp.reading[0]?.streams.find((s) => s.nextLink !== null);
    for (let i = 0; i < 20; i++) {
      await runControlTurn(deps, `turn-${String(i)}`);
      if (inside(await storedPass(w))) break;
    }
    // An expired $skiptoken: the simulator answers 400, as Graph does for a token it no longer knows.
    const row = await w.services.controlRuns.get(tenantId, "w-big", "signin-review");
    const stored = row?.checkpoint as { pass: PassCheckpoint };
    const stream = inside(stored.pass);
    expect(stream?.nextLink).toContain("$skiptoken=");
    if (stream) stream.nextLink = (stream.nextLink ?? "").replace(/\$skiptoken=[^&]*/, "$skiptoken=expired");
    expect(row && (await w.services.controlRuns.save(row, { summary: controlSummary(row), checkpoint: stored, urgency: row.urgency }))).toBeDefined();
    await runControlTurn(deps, "refused");
    expect(w.log.lines.join("\n")).toContain("a slice cannot resume where it stopped");
    // Then the spool is lost (e.g. deleted by hand): the slice being read starts over again.
    const pagesRead = (cp: PassCheckpoint) => cp.reading.reduce((n, c) => n + c.streams.reduce((m, st) => m + st.pages, 0), 0);
    for (let i = 0; i < 20 && pagesRead(await storedPass(w)) < 2; i++) await runControlTurn(deps, `more-${String(i)}`);
    expect(await w.services.reviewSpool.removeUnder(`pages/${tenantId}/`)).toBeGreaterThan(1);
    const lines = w.log.lines.length;
    await runUntilIdle(w);
    expect(w.log.lines.slice(lines).join("\n")).toContain("is not spooled");
    expect(await allFindings(w, sim)).toEqual(reference.findings);
    expect(await evidenceOf(w, await allControls(w, sim))).toEqual(reference.evidence);
  });
});

describe("control runner: an open window preserved over many turns", () => {
  const env = simulatorPerDescribe({ seed: 5, now: NOW, days: 10, throttling: false, tenants: [{ displayName: "Open", licence: "p2", users: 40 }] });

  it("follows an open window as the clock moves on between turns, ends its wait when a revision closes the window, and stores each record once", async () => {
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    // Every turn out of time at once, and an hour later than the last: the open window's end (now) moves each turn.
    const deps: ControlRunDeps = { ...w.deps, options: { ...w.deps.options, budgetMs: 0 } };
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Open"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    const window: BlindWindow = { ...windowFor(env.tenantId, "entra-signin", 30), start: "2024-09-19T00:00:00.000Z", end: null, status: "confirmed", windowId: "w-open" };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review", "preserve"], w.clock.now());
    let turns = 0;
    for (; turns < 300; turns++) {
      const outcome = await runControlTurn(deps, `turn-${String(turns)}`);
      if (outcome.kind === "idle") break;
      expect(outcome).toMatchObject({ kind: "ran" });
      // Graph's clock moves with ours: the open window's new hours appear in it.
      w.clock.advance(3_600_000);
      env.sim.setNow(w.clock.now());
    }
    expect(turns).toBeGreaterThan(5);
    // Caught up with what Graph has settled, the review of the open window waits for its next hours.
    expect((await allControls(w, env.sim)).map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve planned", "signin-review running"]);
    expect(w.log.lines.join("\n")).toContain("the window is still open: the review reads its next hours once Graph has settled them");
    // The revision that gives the window its end ends the wait at once (the planner clears the waiting lease).
    const closed = { ...window, end: new Date(w.clock.now().getTime() - 2 * 3_600_000).toISOString(), status: "resolved" as const };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [closed]);
    await w.services.controls.plan(closed, ["signin-review", "preserve"], w.clock.now());
    for (let more = 0; more < 50; more++) {
      const outcome = await runControlTurn(deps, `closed-${String(more)}`);
      if (outcome.kind === "idle") break;
    }
    const controls = await allControls(w, env.sim);
    expect(controls.map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
    const preserve = controls.find((c) => c.control === "preserve");
    const manifest = await w.services.evidence.readManifest(preserve?.evidence?.manifestPath ?? "");
    const truth = signInsBetween(env.sim, env.tenantId, manifest?.reviewed.from ?? "", manifest?.reviewed.to ?? "");
    const stored: string[] = [];
    for (const blob of manifest?.blobs ?? []) {
      for await (const line of w.services.evidence.readLines(blob.path)) stored.push((JSON.parse(line) as { id: string }).id);
    }
    expect(truth.size).toBeGreaterThan(500);
    expect(stored.length).toBe(truth.size);
    expect(new Set(stored)).toEqual(truth);
  });
  it("reads an open window on in steps of 6 hours, each once Graph has settled it, waiting with its lease in between", async () => {
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Open"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    const window: BlindWindow = { ...windowFor(env.tenantId, "entra-signin", 30), start: "2024-09-20T00:00:00.000Z", end: null, status: "confirmed", windowId: "w-open" };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review", "preserve"], w.clock.now());
    const review = async () => (await allControls(w, env.sim)).find((c) => c.control === "signin-review");
    const lease = async () => (await w.services.controlRuns.get(env.tenantId, "w-open", "signin-review"))?.leaseUntil;

    // 12:30: read up to what Graph has settled (12:00), then wait for the step 12:00–18:00 to settle (18:30).
    await runUntilIdle(w);
    expect(await review()).toMatchObject({ state: "running", coverage: { reviewedFrom: window.start, reviewedTo: "2024-09-20T12:00:00.000Z" } });
    expect(await lease()).toBe("2024-09-20T18:30:00.000Z");
    // Still waiting a minute before then: no turn reads anything.
    w.clock.advance(6 * 3_600_000 - 60_000);
    env.sim.setNow(w.clock.now());
    await runUntilIdle(w);
    expect((await review())?.coverage.reviewedTo).toBe("2024-09-20T12:00:00.000Z");
    // 18:31: the lease has run out; the next turn reads 12:00–18:00 and waits for the next step (00:30).
    w.clock.advance(2 * 60_000);
    env.sim.setNow(w.clock.now());
    await runUntilIdle(w);
    expect(await review()).toMatchObject({ state: "running", coverage: { reviewedTo: "2024-09-20T18:00:00.000Z" } });
    expect(await lease()).toBe("2024-09-21T00:30:00.000Z");

    // The incident ends at 18:00: the wait ends, the review is done, and each sign-in of the window is preserved once.
    const closed = { ...window, end: "2024-09-20T18:00:00.000Z", status: "resolved" as const };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [closed]);
    await w.services.controls.plan(closed, ["signin-review", "preserve"], w.clock.now());
    await runUntilIdle(w);
    const controls = await allControls(w, env.sim);
    expect(controls.map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
    const manifest = await w.services.evidence.readManifest(controls.find((c) => c.control === "preserve")?.evidence?.manifestPath ?? "");
    expect(manifest?.blobs.map((b) => `${b.from} ${b.to}`)).toEqual(["2024-09-20T00:00:00.000Z 2024-09-20T12:00:00.000Z", "2024-09-20T12:00:00.000Z 2024-09-20T18:00:00.000Z"]);
    const stored: string[] = [];
    for (const blob of manifest?.blobs ?? []) for await (const line of w.services.evidence.readLines(blob.path)) stored.push((JSON.parse(line) as { id: string }).id);
    const truth = signInsBetween(env.sim, env.tenantId, closed.start, closed.end);
    expect(truth.size).toBeGreaterThan(300);
    expect(stored.length).toBe(truth.size);
    expect(new Set(stored)).toEqual(truth);
  });
});

describe("control runner: a risk review counts what the window lost", () => {
  let sim: GraphSimulator;
  let tenantId: string;
  /** A planted offline detection inside the September window: made hours after the activity it flags. */
  let late: { id: string; activityT: number; detectedT: number };

  beforeAll(async () => {
    sim = await startGraphSimulator(SIMULATOR);
    tenantId = sim.tenants[0]?.id ?? "";
    const candidates = [];
    for (let day = Math.floor(Date.parse(WINDOW.start) / 86_400_000); day * 86_400_000 < Date.parse(WINDOW.end); day++) {
      for (const { r } of sim.dataset.riskDetectionsInDay(tenantId, day)) {
        const activityT = Date.parse(r.activityDateTime);
        const detectedT = Date.parse(r.detectedDateTime);
        if (r.riskLevel !== "low" && detectedT - activityT >= 2 * 3_600_000 && detectedT < Date.parse(WINDOW.end)) candidates.push({ id: r.id, activityT, detectedT });
      }
    }
    const first = candidates[0];
    if (!first) throw new Error("the simulator planted no offline detection in the window");
    late = first;
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await emptyAccount(azurite, ["table", "queue", "blob"]);
  });

  /** The window ending half an hour after the activity (the detection arrives after the end) or before it. */
  const endAfterActivity = (): string => new Date(late.activityT + 30 * 60_000).toISOString();
  const endBeforeActivity = (): string => new Date(late.activityT - 30 * 60_000).toISOString();

  async function planRisk(w: World, end: string): Promise<void> {
    await w.services.tenants.putMany([{ ...tenantProfile(tenantId, "Contoso"), licence: "p2", logSources: ["entra-risk"] }], w.clock.now());
    const window = { ...windowFor(tenantId, "entra-risk", 90), end, windowId: "w-risk" };
    await w.services.ledger.replaceWindows(tenantId, "entra-risk", [window]);
    await w.services.controls.plan(window, ["risk-review"], w.clock.now());
  }

  async function riskFindings(w: World): Promise<Finding[]> {
    const out: Finding[] = [];
    for await (const f of w.services.findings.listFindings(tenantId, "w-risk")) out.push(f);
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  const names = (findings: readonly Finding[], id: string): boolean => findings.some((f) => f.sampleIds.includes(id));

  /** The findings of a risk review planned with this end from the start, and how far it read; the account is emptied after. */
  async function reviewed(end: string): Promise<{ findings: Finding[]; reviewedTo: string | null }> {
    const w = world(sim);
    await planRisk(w, end);
    expect((await runUntilIdle(w)).errors).toBe(0);
    const findings = await riskFindings(w);
    const row = await w.services.controlRuns.get(tenantId, "w-risk", "risk-review");
    expect(row?.state).toBe("done");
    await emptyAccount(azurite, ["table", "queue", "blob"]);
    return { findings, reviewedTo: row?.coverage.reviewedTo ?? null };
  }

  async function asPlanned(end: string): Promise<Finding[]> {
    return (await reviewed(end)).findings;
  }

  it("a detection made after the window's end counts only for activity inside the window", async () => {
    expect(late.detectedT - late.activityT).toBeGreaterThan(60 * 60_000);
    expect(names(await asPlanned(endAfterActivity()), late.id)).toBe(true);
    const before = await reviewed(endBeforeActivity());
    expect(names(before.findings, late.id)).toBe(false);
    // Read all the same: the review reads two days past the end for offline detections of the window's activity.
    expect(Date.parse(before.reviewedTo ?? "")).toBe(Date.parse(endBeforeActivity()) + 2 * 86_400_000);
    expect(Date.parse(before.reviewedTo ?? "")).toBeGreaterThan(late.detectedT);
  });

  it("a window whose end moves later, between turns or while its risk review reads, is reviewed again under the new end", async () => {
    const planned = await asPlanned(endAfterActivity());
    expect(names(planned, late.id)).toBe(true);

    // Between turns: reviewed to the earlier end first, then the end moves past the activity.
    const w = world(sim);
    await planRisk(w, endBeforeActivity());
    await runUntilIdle(w);
    expect(names(await riskFindings(w), late.id)).toBe(false);
    await planRisk(w, endAfterActivity());
    await runUntilIdle(w);
    const after = await riskFindings(w);
    expect(names(after, late.id)).toBe(true);
    const starts = w.log.lines.filter((l) => l.includes("review started") && l.includes("risk-review"));
    expect(starts).toHaveLength(2);
    // Everything the review planned for the new end finds is there (the earlier run may leave findings of its own).
    for (const f of planned) expect(after).toContainEqual(f);
    await emptyAccount(azurite, ["table", "queue", "blob"]);

    // During a turn: the end moves as the first page arrives, or as the pass that read the old range closes (the
    // planner writes while the last slice's checkpoint is being saved, after the runner's look at the window).
    for (const when of ["reading", "closing"] as const) {
      const { w: moving, served, moved, closing } = movingWorld(sim, {}, when === "reading" ? 1 : 0, (w) => planRisk(w, endAfterActivity()));
      await planRisk(moving, endBeforeActivity());
      await runUntilIdle(when === "closing" ? { ...moving, deps: closing } : moving);
      expect(moved(), when).toBe(true);
      expect(served(), when).toBeGreaterThan(1);
      const found = await riskFindings(moving);
      expect(names(found, late.id), when).toBe(true);
      for (const f of planned) expect(found, when).toContainEqual(f);
      // Reading, it is seen after the slice that page belongs to; closing, before the review is marked done.
      expect(moving.log.lines.join("\n"), when).toContain(when === "reading" ? "the window's bounds moved while it was reviewed: the next turn reads them" : "the window's end moved while it was reviewed: the review starts again");
      await emptyAccount(azurite, ["table", "queue", "blob"]);
    }
  });
});

describe("control runner: a window that ended moments ago, while Graph still adds its last records", () => {
  // Graph lists a sign-in 20 minutes after it happened here; the window ended 5 minutes before the clock.
  const LATENCY_MS = 20 * 60_000;
  const RECENT = { start: "2024-09-20T06:00:00.000Z", end: "2024-09-20T12:25:00.000Z" };
  const env = simulatorPerDescribe({ seed: 11, now: NOW, days: 3, throttling: false, ingestionLatencyMs: LATENCY_MS, tenants: [{ displayName: "Recent", licence: "p2", users: 40, attacks: [] }] });

  async function plan(w: World): Promise<void> {
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Recent"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    const window: BlindWindow = { ...windowFor(env.tenantId, "entra-signin", 30), ...RECENT, windowId: "w-recent" };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review", "preserve"], w.clock.now());
  }

  it("reads up to what Graph has settled, waits with its lease, then reads the rest: every sign-in of the window preserved", async () => {
    const truth = signInsBetween(env.sim, env.tenantId, RECENT.start, RECENT.end);
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    await plan(w);
    await runUntilIdle(w);
    const waiting = (await allControls(w, env.sim)).find((c) => c.control === "signin-review");
    expect(waiting).toMatchObject({ state: "running", coverage: { reviewedFrom: RECENT.start, reviewedTo: "2024-09-20T12:00:00.000Z" } });
    expect(w.log.lines.join("\n")).toContain("Graph may still be adding its last records");
    const row = await w.services.controlRuns.get(env.tenantId, "w-recent", "signin-review");
    expect(row?.leaseUntil).toBe("2024-09-20T12:55:00.000Z");

    // Half an hour later Graph lists what the window holds; the lease has run out and the next turn reads the rest.
    w.clock.advance(30 * 60_000);
    env.sim.setNow(w.clock.now());
    await runUntilIdle(w);
    const controls = await allControls(w, env.sim);
    expect(controls.map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
    expect(controls.find((c) => c.control === "signin-review")?.coverage).toMatchObject({ reviewedFrom: RECENT.start, reviewedTo: RECENT.end });
    const stored = await preservedIds(w, env.sim);
    expect(truth.size).toBeGreaterThan(200);
    expect(stored.length).toBe(truth.size);
    expect(new Set(stored)).toEqual(truth);
  });

  it("without the settle time the review is done at once and misses the window's last records", async () => {
    const truth = signInsBetween(env.sim, env.tenantId, RECENT.start, RECENT.end);
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0", BLINDWINDOW_REVIEW_SETTLE_MINUTES: "0" });
    await plan(w);
    await runUntilIdle(w);
    const controls = await allControls(w, env.sim);
    expect(controls.map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
    const listed = signInsBetween(env.sim, env.tenantId, RECENT.start, new Date(Date.parse(NOW) - LATENCY_MS).toISOString());
    expect(new Set(await preservedIds(w, env.sim))).toEqual(listed);
    expect(listed.size).toBeLessThan(truth.size);
  });
});

describe("control runner: a delay window, whose records Graph lists only once the delay is over", () => {
  // Entra's own reporting stalled from 00:00 to 14:00: Graph lists that backlog at 14:00, when the incident ends.
  const DELAYED = { start: "2024-09-20T00:00:00.000Z", end: "2024-09-20T14:00:00.000Z" };
  const env = simulatorPerDescribe({
    seed: 13,
    now: NOW,
    days: 3,
    throttling: false,
    backlogs: [{ from: DELAYED.start, to: DELAYED.end, listedFrom: DELAYED.end }],
    tenants: [{ displayName: "Backlog", licence: "p2", users: 30, attacks: [] }],
  });

  async function plan(w: World, effect: BlindWindow["effect"], end: string | null): Promise<BlindWindow> {
    const window: BlindWindow = { ...windowFor(env.tenantId, "entra-signin", 30), start: DELAYED.start, end, effect, status: end === null ? "confirmed" : "resolved", windowId: "w-delayed" };
    await w.services.ledger.replaceWindows(env.tenantId, "entra-signin", [window]);
    await w.services.controls.plan(window, ["signin-review", "preserve"], w.clock.now());
    return window;
  }

  function at(w: World, iso: string): void {
    w.clock.advance(Date.parse(iso) - w.clock.now().getTime());
    env.sim.setNow(w.clock.now());
  }

  /** Followed while open (12:30, nothing listed yet), closed at 14:00 by a revision at 14:10, run on until idle at 14:31. */
  async function followThenClose(w: World, effect: BlindWindow["effect"]): Promise<void> {
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Backlog"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    await plan(w, effect, null);
    await runUntilIdle(w);
    expect((await allControls(w, env.sim)).find((c) => c.control === "signin-review")).toMatchObject({ state: "running", recordsRead: { "signIns:v1.0": 0, "signIns:beta": 0 }, coverage: { reviewedTo: "2024-09-20T12:00:00.000Z" } });
    at(w, "2024-09-20T14:10:00.000Z");
    await plan(w, effect, DELAYED.end);
    await runUntilIdle(w);
    at(w, "2024-09-20T14:31:00.000Z");
    await runUntilIdle(w);
    expect((await allControls(w, env.sim)).map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
  }

  it("reads the window again, whole, once its end has settled: every record Graph listed late is preserved", async () => {
    const truth = signInsBetween(env.sim, env.tenantId, DELAYED.start, DELAYED.end);
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    await followThenClose(w, "delay");
    expect(w.log.lines.join("\n")).toContain("the window's records were delayed and Graph has listed them now: the review reads the window again, whole");
    const stored = await preservedIds(w, env.sim);
    expect(truth.size).toBeGreaterThan(200);
    expect(stored.length).toBe(truth.size);
    expect(new Set(stored)).toEqual(truth);
    const review = (await allControls(w, env.sim)).find((c) => c.control === "signin-review");
    expect(review?.coverage).toMatchObject({ reviewedFrom: DELAYED.start, reviewedTo: DELAYED.end });
  });

  it("a loss window is not read again: the same reads leave out what Graph had not listed then", async () => {
    const truth = signInsBetween(env.sim, env.tenantId, DELAYED.start, DELAYED.end);
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    await followThenClose(w, "loss");
    expect(w.log.lines.join("\n")).not.toContain("reads the window again");
    const stored = new Set(await preservedIds(w, env.sim));
    // Only what was read after Graph listed the backlog (12:00 on) is there.
    expect(stored).toEqual(signInsBetween(env.sim, env.tenantId, "2024-09-20T12:00:00.000Z", DELAYED.end));
    expect(stored.size).toBeLessThan(truth.size / 2);
  });

  it("a delay window first read after its end has settled is read once", async () => {
    const truth = signInsBetween(env.sim, env.tenantId, DELAYED.start, DELAYED.end);
    const w = world(env.sim, { BLINDWINDOW_REVIEW_BASELINE_DAYS: "0" });
    at(w, "2024-09-20T14:31:00.000Z");
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Backlog"), licence: "p2", logSources: ["entra-signin"] }], w.clock.now());
    await plan(w, "delay", DELAYED.end);
    await runUntilIdle(w);
    expect((await allControls(w, env.sim)).map((c) => `${c.control} ${c.state}`).sort()).toEqual(["preserve done", "signin-review done"]);
    expect(w.log.lines.join("\n")).not.toContain("reads the window again");
    expect(w.log.lines.filter((l) => l.includes("review started"))).toHaveLength(1);
    expect(new Set(await preservedIds(w, env.sim))).toEqual(truth);
  });
});

describe("control runner: a Free tenant, whose sign-in logs Graph refuses (403, no Entra ID P1/P2)", () => {
  const env = simulatorPerDescribe({ seed: 12, now: NOW, days: 10, throttling: false, premiumRequiredForSignIns: true, tenants: [{ displayName: "Tailspin", licence: "free", users: 12, attacks: [] }] });

  it("fails the sign-in controls at once with what to do and by when; the directory audits are still reviewed and preserved", async () => {
    const w = world(env.sim);
    await w.services.tenants.putMany([{ ...tenantProfile(env.tenantId, "Tailspin"), licence: "free", logSources: ["entra-signin", "entra-audit"] }], w.clock.now());
    for (const source of ["entra-signin", "entra-audit"] as const) {
      const window = { ...windowFor(env.tenantId, source, 7), start: "2024-09-16T08:00:00.000Z", end: "2024-09-19T16:00:00.000Z" };
      await w.services.ledger.replaceWindows(env.tenantId, source, [window]);
      await w.services.controls.plan(window, CONTROLS_BY_SOURCE[source], w.clock.now());
    }
    const run = await runUntilIdle(w);
    expect(run.errors).toBe(0);
    const controls = await allControls(w, env.sim);
    expect(controls.map((c) => `${c.source} ${c.control} ${c.state}`).sort()).toEqual([
      "entra-audit audit-review done",
      "entra-audit preserve done",
      "entra-signin preserve failed",
      "entra-signin signin-review failed",
    ]);
    for (const c of controls.filter((x) => x.source === "entra-signin")) {
      // The window's first hour leaves the 7-day retention on 2024-09-23 at 08:00.
      expect(c.error).toBe("Graph gives sign-in logs only to Entra ID P1/P2 tenants (403): download them from the Entra admin center (Sign-in logs › Download, every tab) before 2024-09-23T08:00Z (7-day retention)");
      expect(c.error?.length).toBeLessThanOrEqual(200);
    }
    // Each sign-in control asked once per stream (v1.0 and beta): a refusal for want of a licence is not retried.
    expect(env.sim.requests.filter((r) => r.path.includes("/auditLogs/signIns")).map((r) => r.status)).toEqual([403, 403, 403, 403]);
  });
});
