import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";
import { TableTenantLeases } from "../../shared/adapters/graph/tenantLease.js";
import { loadSettings } from "../../shared/config.js";
import { ManualClock, table } from "../support/storage.js";

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});

function holders(clock: ManualClock): [TableTenantLeases, TableTenantLeases] {
  const account = storageAccountFromSettings(loadSettings({ AzureWebJobsStorage: azurite.connectionString }));
  return [new TableTenantLeases(account, clock, "instance-a"), new TableTenantLeases(account, clock, "instance-b")];
}

const MINUTE = 60_000;

describe("tenant lease (Cursors table, PK lease)", () => {
  it("lets one holder in at a time; the other gets it after release", async () => {
    const clock = new ManualClock(new Date("2024-09-20T12:00:00Z"));
    const [a, b] = holders(clock);
    const tenant = "aaaaaaaa-0000-4000-8000-000000000001";
    const lease = await a.acquire(tenant, MINUTE);
    expect(lease).toMatchObject({ tenantId: tenant, holder: "instance-a", expiresAt: "2024-09-20T12:01:00.000Z" });
    expect(await b.acquire(tenant, MINUTE)).toBeUndefined();
    const row = await table(azurite, "Cursors").getEntity("lease", tenant);
    expect(row).toMatchObject({ holder: "instance-a", expiresAt: "2024-09-20T12:01:00.000Z" });
    if (lease) await a.release(lease);
    expect(await b.acquire(tenant, MINUTE)).toMatchObject({ holder: "instance-b" });
  });

  it("races: of two concurrent acquires exactly one wins", async () => {
    const clock = new ManualClock(new Date("2024-09-20T12:00:00Z"));
    const [a, b] = holders(clock);
    for (let i = 0; i < 5; i++) {
      const tenant = `bbbbbbbb-0000-4000-8000-00000000000${String(i)}`;
      const results = await Promise.all([a.acquire(tenant, MINUTE), b.acquire(tenant, MINUTE)]);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    }
  });

  it("expires: a crashed holder blocks the tenant for one lease duration at most, and loses its renewal", async () => {
    const clock = new ManualClock(new Date("2024-09-20T12:00:00Z"));
    const [a, b] = holders(clock);
    const tenant = "cccccccc-0000-4000-8000-000000000001";
    const stale = await a.acquire(tenant, MINUTE);
    clock.advance(MINUTE - 1);
    expect(await b.acquire(tenant, MINUTE)).toBeUndefined();
    clock.advance(1);
    const taken = await b.acquire(tenant, MINUTE);
    expect(taken).toMatchObject({ holder: "instance-b" });
    // The old holder wakes up: its renewal and release fail quietly, and never disturb the new holder.
    expect(stale && (await a.renew(stale, MINUTE))).toBeUndefined();
    if (stale) await a.release(stale);
    expect(await a.acquire(tenant, MINUTE)).toBeUndefined();
    expect((await table(azurite, "Cursors").getEntity("lease", tenant)).holder).toBe("instance-b");
  });

  it("renews: a renewed lease outlives its first expiry", async () => {
    const clock = new ManualClock(new Date("2024-09-20T12:00:00Z"));
    const [a, b] = holders(clock);
    const tenant = "dddddddd-0000-4000-8000-000000000001";
    let lease = await a.acquire(tenant, MINUTE);
    clock.advance(50_000);
    lease = lease && (await a.renew(lease, MINUTE));
    expect(lease?.expiresAt).toBe("2024-09-20T12:01:50.000Z");
    clock.advance(30_000); // past the first expiry, within the renewed one
    expect(await b.acquire(tenant, MINUTE)).toBeUndefined();
    // The same holder may take its own lease again (a new run on the same instance).
    expect(await a.acquire(tenant, MINUTE)).toMatchObject({ holder: "instance-a" });
  });
});
