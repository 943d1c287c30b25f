import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";
import { TableControlStore } from "../../shared/adapters/tableReviewStore.js";
import { controlSummary, isClaimable, type ControlRow } from "../../shared/app/reviewPorts.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { emptyAccount } from "../support/azurite.js";
import { table, testServices } from "../support/storage.js";

/**
 * The Controls row's detector state: apart from the checkpoint, written only when it changed, in the row while small
 * and in a content-addressed blob when large (against Azurite).
 */
const TENANT = "aaaaaaaa-0000-4000-8000-0000000000c1";
const CONTAINER = "review-spool";
const NOW = new Date("2024-09-20T12:00:00Z");
const WINDOW: BlindWindow = {
  tenantId: TENANT,
  source: "entra-signin",
  windowId: "w-store",
  start: "2024-09-02T23:00:00.000Z",
  end: "2024-09-19T16:00:00.000Z",
  effect: "loss",
  status: "resolved",
  notices: ["azure-monitor~x"],
  reviewDeadline: "2024-10-02T23:00:00.000Z",
  history: [],
};

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite, ["table", "queue", "blob"]);
});

/** Detector-like state that gzip cannot shrink much (random ids), about `kib` KiB of JSON. */
function bulky(kib: number, tag: string): unknown {
  return { tag, users: Array.from({ length: Math.ceil((kib * 1024) / 40) }, () => randomBytes(16).toString("hex")) };
}

async function setup(inlineMaxBytes = 8 * 1024): Promise<{ store: TableControlStore; row: ControlRow; blobs: () => Promise<Map<string, string>> }> {
  const { services } = testServices(azurite);
  await services.controls.plan(WINDOW, ["signin-review"], NOW);
  const account = storageAccountFromSettings(services.settings);
  const store = new TableControlStore(account, { container: CONTAINER, inlineMaxBytes });
  const row = await store.get(TENANT, WINDOW.windowId, "signin-review");
  if (!row) throw new Error("no row planned");
  const claimed = await store.claim(row, "worker", new Date(NOW.getTime() + 600_000), NOW);
  if (!claimed) throw new Error("not claimed");
  const container = account.blobService().getContainerClient(CONTAINER);
  const blobs = async () => {
    const out = new Map<string, string>();
    if (!(await container.exists())) return out;
    for await (const b of container.listBlobsFlat()) out.set(b.name, b.properties.etag);
    return out;
  };
  return { store, row: claimed, blobs };
}

const running = (row: ControlRow) => ({ summary: { ...controlSummary(row), state: "running" as const }, urgency: row.urgency });

describe("Controls row: detector state apart from the checkpoint", () => {
  it("keeps a small state in the row and reads it back with get and claim", async () => {
    const { store, row, blobs } = await setup();
    const saved = await store.save(row, { ...running(row), checkpoint: { pass: 1 }, detector: { users: ["a"] } });
    expect(saved?.detector).toEqual({ users: ["a"] });
    const read = await store.get(TENANT, WINDOW.windowId, "signin-review");
    expect(read?.detector).toEqual({ users: ["a"] });
    expect(read?.checkpoint).toEqual({ pass: 1 });
    expect(read?.detectorRef).toBe(saved?.detectorRef);
    expect(await blobs()).toEqual(new Map());
  });

  it("spills a large state to one content-addressed blob, rewrites nothing while it is unchanged, and deletes the blob it replaces", async () => {
    const { store, row, blobs } = await setup();
    const big = bulky(64, "first");
    const first = await store.save(row, { ...running(row), checkpoint: { page: 1 }, detector: big });
    const afterFirst = await blobs();
    expect([...afterFirst.keys()]).toEqual([expect.stringMatching(/^detector-state\/aaaaaaaa-0000-4000-8000-0000000000c1\/w-store\/signin-review\/[0-9a-f]{64}\.json\.gz$/)]);
    expect((await store.get(TENANT, WINDOW.windowId, "signin-review"))?.detector).toEqual(big);

    // Page after page the checkpoint changes and the state does not: the blob is not written again.
    let current = first as ControlRow;
    for (let page = 2; page <= 4; page++) current = (await store.save(current, { ...running(current), checkpoint: { page }, detector: big })) as ControlRow;
    expect(await blobs()).toEqual(afterFirst);
    const reread = await store.get(TENANT, WINDOW.windowId, "signin-review");
    expect(reread?.checkpoint).toEqual({ page: 4 });
    expect(reread?.detector).toEqual(big);

    // A new state: a new blob, the old one gone; a small state again: back in the row, no blob left.
    const bigger = bulky(96, "second");
    current = (await store.save(current, { ...running(current), detector: bigger })) as ControlRow;
    const afterSecond = await blobs();
    expect(afterSecond.size).toBe(1);
    expect([...afterSecond.keys()]).not.toEqual([...afterFirst.keys()]);
    expect((await store.get(TENANT, WINDOW.windowId, "signin-review"))?.detector).toEqual(bigger);
    await store.save(current, { ...running(current), detector: { small: true } });
    expect(await blobs()).toEqual(new Map());
    expect((await store.get(TENANT, WINDOW.windowId, "signin-review"))?.detector).toEqual({ small: true });
  });

  it("a finished control keeps only the blob its row names (a blob left by a crash before its row write goes too)", async () => {
    const { store, row, blobs } = await setup();
    // Written, then the worker died before the row named it.
    await store.save(row, { ...running(row), detector: bulky(64, "orphan") });
    const fresh = (await store.get(TENANT, WINDOW.windowId, "signin-review")) as ControlRow;
    const orphanRow = { ...fresh, detectorRef: undefined };
    const kept = (await store.save(orphanRow, { ...running(fresh), detector: bulky(64, "kept") })) as ControlRow;
    expect((await blobs()).size).toBe(2);
    const state = bulky(64, "final");
    const done = await store.save(kept, { summary: { ...controlSummary(kept), state: "done" }, urgency: kept.urgency, detector: state });
    expect(done?.state).toBe("done");
    expect((await blobs()).size).toBe(1);
    expect((await store.get(TENANT, WINDOW.windowId, "signin-review"))?.detector).toEqual(state);
  });

  it("a spilled state that is gone or damaged is not resumed from: the row comes back without checkpoint and state", async () => {
    const { store, row, blobs } = await setup();
    await store.save(row, { ...running(row), checkpoint: { page: 7 }, detector: bulky(64, "lost") });
    const [path] = [...(await blobs()).keys()];
    const container = storageAccountFromSettings(testServices(azurite).services.settings).blobService().getContainerClient(CONTAINER);
    await container.getBlockBlobClient(path ?? "").upload("not gzip", 8);
    const damaged = await store.get(TENANT, WINDOW.windowId, "signin-review");
    expect(damaged?.checkpoint).toBeUndefined();
    expect(damaged?.detector).toBeUndefined();
    expect(damaged?.state).toBe("running");
    await container.getBlockBlobClient(path ?? "").delete();
    expect((await store.get(TENANT, WINDOW.windowId, "signin-review"))?.checkpoint).toBeUndefined();
  });

  it("a checkpoint that shrinks leaves no old chunks behind in the row (they would count towards its 1 MiB)", async () => {
    const { store, row } = await setup(1024 * 1024);
    const large = await store.save(row, { ...running(row), checkpoint: bulky(300, "cp") });
    await store.save(large as ControlRow, { ...running(row), checkpoint: { small: true } });
    const entity = await table(azurite, "Controls").getEntity(TENANT, "w-store~signin-review");
    const cpBytes = Object.entries(entity).filter(([k]) => /^cp\d+$/.test(k)).reduce((n, [, v]) => n + (v instanceof Uint8Array ? v.length : 0), 0);
    expect(entity.cpChunks).toBe(1);
    expect(cpBytes).toBeLessThan(1024);
  });
});

describe("Controls row: the planner moving the window's bounds while a worker holds the lease", () => {
  it("progress is still saved; 'done' under the old bounds is refused and the row stays the worker's, running", async () => {
    const { services } = testServices(azurite);
    const { store, row } = await setup();
    const moved: BlindWindow = { ...WINDOW, end: "2024-09-19T22:00:00.000Z" };
    await services.controls.plan(moved, ["signin-review"], NOW);
    // Running progress goes through (the planner does not take the lease) and sees the new bounds.
    const progressed = await store.save(row, { ...running(row), checkpoint: { pass: 1 } });
    expect(progressed).toMatchObject({ state: "running", leaseOwner: "worker", windowEnd: moved.end });
    // A finish from a worker that read the row before the planner wrote is refused: its range is the old one.
    const done = { summary: { ...controlSummary(row), state: "done" as const }, urgency: row.urgency };
    expect(await store.save(row, done)).toBeUndefined();
    expect(await store.get(TENANT, WINDOW.windowId, "signin-review")).toMatchObject({ state: "running", leaseOwner: "worker", checkpoint: { pass: 1 } });
    // Holding the row as it is now, the same finish goes through.
    expect(await store.save(progressed ?? row, done)).toMatchObject({ state: "done", windowEnd: moved.end });
  });

  it("a wait keeps the lease until its end; the planner moving the bounds ends a wait, not a worker's lease; a wait under moved bounds is refused", async () => {
    const { services } = testServices(azurite);
    const { store, row } = await setup();
    const until = new Date(NOW.getTime() + 6 * 3_600_000);
    // A worker's lease (not waiting): the planner moves the bounds and leaves the lease alone.
    await services.controls.plan({ ...WINDOW, end: "2024-09-19T20:00:00.000Z" }, ["signin-review"], NOW);
    const working = await store.get(TENANT, WINDOW.windowId, "signin-review");
    expect(working).toMatchObject({ state: "running", leaseOwner: "worker", leaseUntil: row.leaseUntil });
    // The worker, holding the row as it is now, waits: the lease runs to the wait's end, and nothing can claim it.
    const waiting = await store.save(working ?? row, { ...running(working ?? row), leaseUntil: until, waiting: true });
    expect(waiting).toMatchObject({ state: "running", leaseUntil: until.toISOString() });
    expect(isClaimable(waiting ?? row, new Date(NOW.getTime() + 3_600_000).toISOString())).toBe(false);
    // A revision moves the window: the wait ends (the lease is cleared) and the row can be claimed at once.
    await services.controls.plan({ ...WINDOW, end: "2024-09-19T22:00:00.000Z" }, ["signin-review"], NOW);
    const woken = await store.get(TENANT, WINDOW.windowId, "signin-review");
    expect(woken).toMatchObject({ state: "running", windowEnd: "2024-09-19T22:00:00.000Z" });
    expect(isClaimable(woken ?? row, NOW.toISOString())).toBe(true);
    // A worker that read the row before that revision cannot start a wait under the old bounds.
    expect(await store.save(waiting ?? row, { ...running(waiting ?? row), leaseUntil: until, waiting: true })).toBeUndefined();
  });
});
