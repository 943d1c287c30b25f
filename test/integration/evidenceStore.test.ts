import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURITE_ACCOUNT, AZURITE_KEY, EmbeddedAzurite } from "../../local/azurite.js";
import { BlobEvidenceStore } from "../../shared/adapters/blobEvidenceStore.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";
import { EvidenceBlocksMissingError, EvidenceConflictError } from "../../shared/app/evidencePorts.js";
import { loadSettings } from "../../shared/config.js";
import { evidenceBlobPath, evidenceBlockId, evidenceManifestPath, evidenceTenantPrefix, type EvidenceManifest } from "../../shared/domain/evidencePath.js";
import { NotFoundError, StorageUnavailableError } from "../../shared/errors.js";

const CONTAINER = "evidence";
const TENANT = "aaaaaaaa-0000-4000-8000-0000000000e1";
const SLICE = "2024-09-02T23:00:00Z";

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});

function newStore(connectionString = azurite.connectionString, container = CONTAINER): BlobEvidenceStore {
  return new BlobEvidenceStore(storageAccountFromSettings(loadSettings({ AzureWebJobsStorage: connectionString })), container);
}

/** The raw container, to check what is stored with a client that is not the one under test. */
function rawContainer(): ContainerClient {
  return new ContainerClient(`http://127.0.0.1:${String(azurite.port("blob"))}/${AZURITE_ACCOUNT}/${CONTAINER}`, storageAccountFromSettings(loadSettings({ AzureWebJobsStorage: azurite.connectionString })).blobService().credential);
}

function blobPath(windowId: string): string {
  return evidenceBlobPath({ tenantId: TENANT, source: "entra-signin", day: "2024-09-02", windowId, from: "2024-09-02T23:00:00Z", to: "2024-09-03T00:00:00Z" });
}

const blockId = (page: number, stream = "signIns:beta"): string => evidenceBlockId({ sliceStart: SLICE, stream, page });

/** One Graph page of sign-in records as JSON lines; ids say page and position, so order and copies can be checked. */
function page(n: number, size = 5): string[] {
  return Array.from({ length: size }, (_, i) =>
    JSON.stringify({ id: `p${String(n)}-r${String(i)}`, createdDateTime: `2024-09-02T23:${String(n).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`, userPrincipalName: `user${String(i)}@contoso.example`, location: { city: "Zürich" } }),
  );
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

function manifestFor(path: string, entry: { bytes: number; sha256: string; records: number }, createdAt = "2024-09-20T12:00:00.000Z"): EvidenceManifest {
  return {
    v: 1,
    tenantId: TENANT,
    windowId: "w-manifest",
    source: "entra-signin",
    window: { start: "2024-09-02T23:00:00.000Z", end: null },
    reviewed: { from: "2024-09-02T23:00:00.000Z", to: "2024-09-03T00:00:00.000Z" },
    createdAt,
    streams: [{ stream: "signIns:beta", request: "GET /beta/auditLogs/signIns", filter: "createdDateTime ge 2024-09-02T23:00:00Z and createdDateTime lt 2024-09-03T00:00:00Z", pages: 1, records: entry.records }],
    blobs: [{ path, day: "2024-09-02", from: "2024-09-02T23:00:00.000Z", to: "2024-09-03T00:00:00.000Z", ...entry }],
    totals: { blobs: 1, records: entry.records, bytes: entry.bytes },
  };
}

describe("evidence blobs (BlobEvidenceStore on Azurite)", () => {
  it("stages pages, commits them in order, and reads the lines back in that order", async () => {
    const store = newStore();
    const path = blobPath("w-order");
    const staged = [];
    // Staged out of order (concurrent pages may finish in any order): the block list alone decides the order.
    for (const n of [2, 0, 1]) staged[n] = await store.stageBlock(path, blockId(n), page(n));
    expect(staged.map((s) => s.records)).toEqual([5, 5, 5]);

    const committed = await store.commitBlob(path, [blockId(0), blockId(1), blockId(2)], { tenant: TENANT, window: "w-order", records: "15" });
    expect(committed.created).toBe(true);
    expect(committed.bytes).toBe(staged.reduce((n, s) => n + s.bytes, 0));
    expect(await collect(store.readLines(path))).toEqual([...page(0), ...page(1), ...page(2)]);

    const props = await rawContainer().getBlockBlobClient(path).getProperties();
    expect(props.contentType).toBe("application/gzip");
    expect(props.contentEncoding).toBeUndefined();
    expect(props.metadata).toMatchObject({ tenant: TENANT, window: "w-order", records: "15" });
    expect(await collect(store.list(evidenceTenantPrefix("entra-signin", TENANT)))).toContainEqual({ path, bytes: committed.bytes });
  });

  it("keeps one copy of a page staged twice under the same id", async () => {
    const store = newStore();
    const path = blobPath("w-twice");
    await store.stageBlock(path, blockId(0), page(0));
    await store.stageBlock(path, blockId(0), page(0));
    await store.stageBlock(path, blockId(1), page(1));
    await store.commitBlob(path, [blockId(0), blockId(1)], {});
    const lines = await collect(store.readLines(path));
    expect(lines).toEqual([...page(0), ...page(1)]);
    expect(new Set(lines).size).toBe(10);
  });

  it("survives a crash: a new worker re-stages the pages after the checkpoint and commits each record once", async () => {
    const path = blobPath("w-crash");
    const first = newStore();
    for (const n of [0, 1, 2]) await first.stageBlock(path, blockId(n), page(n, 50));
    // Killed after staging page 2 but before its checkpoint: the last checkpoint says "pages 0–1 done".

    const second = newStore(); // a new process: new clients, nothing shared in memory
    for (const n of [2, 3, 4]) await second.stageBlock(path, blockId(n), page(n, 50));
    const result = await second.commitBlob(path, [0, 1, 2, 3, 4].map((n) => blockId(n)), {});
    expect(result.created).toBe(true);

    const lines = await collect(second.readLines(path));
    expect(lines).toHaveLength(250);
    expect(new Set(lines).size).toBe(250);
    expect(lines).toEqual([0, 1, 2, 3, 4].flatMap((n) => page(n, 50)));
  });

  it("answers a repeated commit with created: false and the same hash (a retry after a crash)", async () => {
    const store = newStore();
    const path = blobPath("w-recommit");
    for (const n of [0, 1]) await store.stageBlock(path, blockId(n), page(n));
    const ids = [blockId(0), blockId(1)];
    const once = await store.commitBlob(path, ids, { attempt: "1" });
    // The worker died before recording the commit: it resumes, stages the last page again and commits again.
    const restarted = newStore();
    await restarted.stageBlock(path, blockId(1), page(1));
    const twice = await restarted.commitBlob(path, ids, { attempt: "2" });
    expect(once.created).toBe(true);
    expect(twice).toEqual({ created: false, bytes: once.bytes, sha256: once.sha256 });
    expect(await collect(restarted.readLines(path))).toEqual([...page(0), ...page(1)]);
    // The first commit's metadata stands.
    expect((await rawContainer().getBlockBlobClient(path).getProperties()).metadata).toMatchObject({ attempt: "1" });
  });

  it("refuses to replace a committed blob with other blocks, and leaves it as it was", async () => {
    const store = newStore();
    const path = blobPath("w-overwrite");
    await store.stageBlock(path, blockId(0), page(0));
    const original = await store.commitBlob(path, [blockId(0)], {});
    await store.stageBlock(path, blockId(7), page(7));
    await expect(store.commitBlob(path, [blockId(7)], {})).rejects.toBeInstanceOf(EvidenceConflictError);
    await expect(store.commitBlob(path, [blockId(0), blockId(7)], {})).rejects.toMatchObject({ code: "evidence-conflict", status: 409, retryable: false });
    const after = await newStore().commitBlob(path, [blockId(0)], {});
    expect(after).toEqual({ created: false, bytes: original.bytes, sha256: original.sha256 });
    expect(await collect(store.readLines(path))).toEqual(page(0));
  });

  it("says which blocks are missing instead of committing a partial blob", async () => {
    const store = newStore();
    const path = blobPath("w-missing");
    await store.stageBlock(path, blockId(0), page(0));
    await expect(store.commitBlob(path, [blockId(0), blockId(1)], {})).rejects.toBeInstanceOf(EvidenceBlocksMissingError);
    await expect(rawContainer().getBlockBlobClient(path).exists()).resolves.toBe(false);
  });

  it("refuses input that would corrupt the evidence before calling storage", async () => {
    const store = newStore();
    const path = blobPath("w-input");
    await expect(store.stageBlock(path, blockId(0), ["{\"a\":1}\n{\"b\":2}"])).rejects.toThrow(/line break/);
    await expect(store.stageBlock(path, blockId(0), [""])).rejects.toThrow(/empty/);
    await expect(store.stageBlock(path, "not-a-block-id", page(0))).rejects.toThrow(/block id/);
    await expect(store.stageBlock("signins/../other/x.jsonl.gz", blockId(0), page(0))).rejects.toThrow(/evidence path/);
    await expect(store.commitBlob(path, [blockId(0), blockId(0)], {})).rejects.toThrow(/twice/);
    await expect(store.commitBlob(path, [], {})).rejects.toThrow(/at least one block/);
    await expect(store.commitBlob(path, [blockId(0)], { "x-bad": "1" })).rejects.toThrow(/C# identifiers/);
    await expect(store.commitBlob(path, [blockId(0)], { note: "line\nbreak" })).rejects.toThrow(/printable ASCII/);
  });

  it("hashes exactly the stored bytes, which are concatenated gzip members that gunzipSync decodes", async () => {
    const store = newStore();
    const path = blobPath("w-hash");
    // Large pages with multi-byte characters: gunzip chunks end in the middle of lines and of UTF-8 sequences.
    const pages = [0, 1, 2].map((n) => page(n, 3000).map((line) => line.replace("Zürich", "Zürich 東京 🔒")));
    const staged = [];
    for (const [n, lines] of pages.entries()) staged.push(await store.stageBlock(path, blockId(n), lines));
    const committed = await store.commitBlob(path, [0, 1, 2].map((n) => blockId(n)), {});

    const stored = await rawContainer().getBlockBlobClient(path).downloadToBuffer();
    expect(committed.sha256).toBe(sha256(stored));
    expect(committed.bytes).toBe(stored.length);
    expect(stored.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // One gzip member per page: the second member starts right where the first one's staged size ends.
    const firstSize = staged[0]?.bytes ?? 0;
    expect(stored.subarray(firstSize, firstSize + 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const text = gunzipSync(stored).toString("utf8");
    expect(text).toBe(`${pages.flat().join("\n")}\n`);
    expect(await collect(store.readLines(path))).toEqual(pages.flat());
  });

  it("stops downloading when the reader stops early", async () => {
    const store = newStore();
    const path = blobPath("w-early");
    await store.stageBlock(path, blockId(0), page(0, 2000));
    await store.commitBlob(path, [blockId(0)], {});
    const first: string[] = [];
    for await (const line of store.readLines(path)) {
      first.push(line);
      if (first.length === 3) break;
    }
    expect(first).toEqual(page(0, 3));
  });

  it("reports a missing blob as NotFoundError, and lists nothing in a container that does not exist", async () => {
    await expect(collect(newStore().readLines(blobPath("w-never")))).rejects.toBeInstanceOf(NotFoundError);
    const elsewhere = newStore(azurite.connectionString, "evidence-absent");
    expect(await collect(elsewhere.list(""))).toEqual([]);
    expect(await elsewhere.readManifest(evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w", from: SLICE, to: "2024-09-03T00:00:00Z" }))).toBeUndefined();
    // Reading created nothing.
    await expect(new ContainerClient(`http://127.0.0.1:${String(azurite.port("blob"))}/${AZURITE_ACCOUNT}/evidence-absent`, rawContainer().credential).exists()).resolves.toBe(false);
  });
});

describe("evidence manifests", () => {
  it("are written once: the same manifest again is accepted and keeps the first, different content is refused", async () => {
    const store = newStore();
    const path = blobPath("w-manifest");
    await store.stageBlock(path, blockId(0), page(0));
    const committed = await store.commitBlob(path, [blockId(0)], {});
    const manifestPath = evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w-manifest", from: "2024-09-02T23:00:00Z", to: "2024-09-03T00:00:00Z" });
    const manifest = manifestFor(path, { bytes: committed.bytes, sha256: committed.sha256, records: 5 });

    expect(await store.readManifest(manifestPath)).toBeUndefined();
    expect(await store.writeManifest(manifestPath, manifest)).toEqual({ created: true });
    // A resumed run writes it again with a new createdAt: accepted, the first one stands.
    expect(await newStore().writeManifest(manifestPath, { ...manifest, createdAt: "2024-09-21T08:00:00.000Z" })).toEqual({ created: false });
    expect(await store.readManifest(manifestPath)).toEqual(manifest);

    const other = manifestFor(path, { bytes: committed.bytes, sha256: "0".repeat(64), records: 5 });
    await expect(store.writeManifest(manifestPath, other)).rejects.toBeInstanceOf(EvidenceConflictError);
    expect(await store.readManifest(manifestPath)).toEqual(manifest);
    const stored = await rawContainer().getBlockBlobClient(manifestPath).getProperties();
    expect(stored.contentType).toBe("application/json");
  });

  it("refuses a manifest whose totals do not add up, before writing anything", async () => {
    const store = newStore();
    const manifestPath = evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w-bad-totals", from: SLICE, to: "2024-09-03T00:00:00Z" });
    const bad = manifestFor(blobPath("w-bad-totals"), { bytes: 10, sha256: "a".repeat(64), records: 5 });
    await expect(store.writeManifest(manifestPath, { ...bad, totals: { blobs: 1, records: 6, bytes: 10 } })).rejects.toThrow(/add up/);
    expect(await store.readManifest(manifestPath)).toBeUndefined();
  });
});

/**
 * Azurite has no immutability policies. Under the evidence container's time-based retention a committed blob refuses
 * new blocks (409); this proxy fakes that answer on the wire and passes everything else to Azurite.
 */
async function wormProxy(target: number): Promise<{ server: Server; port: number; refused: () => number }> {
  const committed = new Set<string>();
  let refused = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const comp = url.searchParams.get("comp");
    if (req.method === "PUT" && comp === "block" && committed.has(url.pathname)) {
      refused++;
      req.resume();
      res.writeHead(409, { "x-ms-error-code": "BlobImmutableDueToPolicy", "content-type": "application/xml", "x-ms-request-id": "proxy" });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobImmutableDueToPolicy</Code><Message>This operation is not permitted as the blob is immutable due to a policy.</Message></Error>`);
      return;
    }
    const upstream = httpRequest({ host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (req.method === "PUT" && comp === "blocklist" && answer.statusCode === 201) committed.add(url.pathname);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, refused: () => refused };
}

describe("evidence under an immutability policy (faked on the wire)", () => {
  it("a worker that resumes after the commit re-stages into a committed blob: refused, recognised, and the commit answers created: false", async () => {
    const proxy = await wormProxy(azurite.port("blob"));
    try {
      const cs = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${String(proxy.port)}/${AZURITE_ACCOUNT};QueueEndpoint=http://127.0.0.1:${String(azurite.port("queue"))}/${AZURITE_ACCOUNT};TableEndpoint=http://127.0.0.1:${String(azurite.port("table"))}/${AZURITE_ACCOUNT}`;
      const store = newStore(cs);
      const path = blobPath("w-worm");
      for (const n of [0, 1]) await store.stageBlock(path, blockId(n), page(n));
      const first = await store.commitBlob(path, [blockId(0), blockId(1)], {});

      const resumed = newStore(cs);
      const again = await resumed.stageBlock(path, blockId(1), page(1));
      expect(proxy.refused()).toBe(1);
      expect(again.records).toBe(5);
      expect(again.bytes).toBeGreaterThan(0);
      expect(await resumed.commitBlob(path, [blockId(0), blockId(1)], {})).toEqual({ created: false, bytes: first.bytes, sha256: first.sha256 });
      // A page the committed blob does not have cannot be added any more: a conflict, not a silent success.
      await expect(resumed.stageBlock(path, blockId(2), page(2))).rejects.toBeInstanceOf(EvidenceConflictError);
    } finally {
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  });
});

describe("storage outage", () => {
  it("turns every call into StorageUnavailableError while the blob service is down", async () => {
    const store = newStore();
    const path = blobPath("w-outage");
    await azurite.stopService("blob");
    try {
      await expect(store.stageBlock(path, blockId(0), page(0))).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.commitBlob(path, [blockId(0)], {})).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.readManifest(evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w-outage", from: SLICE, to: "2024-09-03T00:00:00Z" }))).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(collect(store.readLines(path))).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(collect(store.list(""))).rejects.toMatchObject({ code: "storage-unavailable", status: 503, retryable: true });
    } finally {
      await azurite.startService("blob");
    }
    // Back up (in memory, so empty): the same store recreates its container and carries on.
    await store.stageBlock(path, blockId(0), page(0));
    expect((await store.commitBlob(path, [blockId(0)], {})).created).toBe(true);
  });
});

describe("storage account blob endpoint", () => {
  it("uses the identity-based blob endpoint, from the account name or AzureWebJobsStorage__blobServiceUri", () => {
    const byName = storageAccountFromSettings(loadSettings({ AzureWebJobsStorage__accountName: "stbw123", AzureWebJobsStorage__clientId: "11111111-2222-3333-4444-555555555555" }));
    expect(byName.blobService().url).toBe("https://stbw123.blob.core.windows.net/");
    const byUri = storageAccountFromSettings(loadSettings({ AzureWebJobsStorage__accountName: "stbw123", AzureWebJobsStorage__blobServiceUri: "https://blob.example.test/" }));
    expect(byUri.blobService().url).toBe("https://blob.example.test/");
  });
});
