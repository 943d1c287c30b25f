import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { BlobReviewSpool } from "../../shared/adapters/blobReviewSpool.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";
import { loadSettings } from "../../shared/config.js";
import { StorageUnavailableError } from "../../shared/errors.js";

const A = "aaaaaaaa-0000-4000-8000-0000000000a1";
const B = "bbbbbbbb-0000-4000-8000-0000000000b2";
const page = (tenant: string, n: number) => `${tenant}/w-1/signins/g0/2024-09-02T23:00:00.000Z/signIns:beta/${String(n)}.json`;

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});

function spool(container = "review-spool"): BlobReviewSpool {
  return new BlobReviewSpool(storageAccountFromSettings(loadSettings({ AzureWebJobsStorage: azurite.connectionString })), container);
}

describe("review spool in Blob Storage (Azurite)", () => {
  it("stores a page's records as they were, overwrites a page read again, and says when a page is not there", async () => {
    const s = spool();
    const records = [{ id: "1", t: 1725318000000, userId: "u", latitude: null, riskEventTypes: ["a"], city: "Zürich" }, { id: "2", t: 1725318000001 }];
    await s.putPage(page(A, 0), records);
    expect(await s.getPage(page(A, 0))).toEqual(records);
    await s.putPage(page(A, 0), [{ id: "3" }]);
    expect(await s.getPage(page(A, 0))).toEqual([{ id: "3" }]);
    expect(await s.getPage(page(A, 1))).toBeUndefined();
    // A container nobody wrote to yet holds nothing, and reading it creates nothing.
    expect(await spool("never-written").getPage(page(A, 0))).toBeUndefined();
    expect(await spool("never-written").removeUnder(`${A}/`)).toBe(0);
  });

  it("removes one tenant's pages and leaves every other tenant's", async () => {
    const s = spool();
    for (let n = 0; n < 3; n++) {
      await s.putPage(page(A, n), [{ n }]);
      await s.putPage(page(B, n), [{ n }]);
    }
    expect(await s.removeUnder(`${A}/w-1/`)).toBe(3);
    for (let n = 0; n < 3; n++) {
      expect(await s.getPage(page(A, n))).toBeUndefined();
      expect(await s.getPage(page(B, n))).toEqual([{ n }]);
    }
    expect(await s.removeUnder(`${A}/`)).toBe(0);
  });

  it("refuses a path that could leave its prefix, and writes nothing", async () => {
    const s = spool();
    for (const bad of ["../x.json", `${A}/../${B}/0.json`, "/abs.json", `${A}/a b.json`, ""]) {
      await expect(s.putPage(bad, [])).rejects.toThrow(RangeError);
      await expect(s.getPage(bad)).rejects.toThrow(RangeError);
    }
    await expect(s.removeUnder("")).rejects.toThrow(RangeError);
  });

  it("a storage outage is StorageUnavailableError (the turn fails and is retried, nothing is half-written)", async () => {
    const s = spool();
    await azurite.stopService("blob");
    try {
      await expect(s.putPage(page(A, 9), [{ id: "x" }])).rejects.toThrow(StorageUnavailableError);
      await expect(s.getPage(page(A, 9))).rejects.toThrow(StorageUnavailableError);
    } finally {
      await azurite.startService("blob");
    }
  });
});
