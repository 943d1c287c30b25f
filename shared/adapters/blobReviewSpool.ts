import type { ContainerClient } from "@azure/storage-blob";
import type { ReviewSpool } from "../app/reviewSpool.js";
import { LazyContainer } from "./blobContainers.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus, storageErrorInfo } from "./storageErrors.js";

/** Tenant, window, pass, slice, stream and page: letters, digits and `._:-/` only (no `..`, no leading slash). */
const SPOOL_PATH = /^(?!.*\.\.)[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)*\/?$/;

function checkPath(path: string): void {
  if (!SPOOL_PATH.test(path)) throw new RangeError(`Not a spool path: ${JSON.stringify(path.slice(0, 80))}`);
}

/**
 * The review spool in its own Blob container (not the evidence one: spooled pages are normalised records, not
 * evidence, and are deleted). One JSON blob per page, written whole (Put Blob).
 */
export class BlobReviewSpool implements ReviewSpool {
  private readonly lazy: LazyContainer;

  constructor(account: StorageAccount, containerName: string) {
    this.lazy = new LazyContainer(account, containerName);
  }

  private get container(): ContainerClient {
    return this.lazy.container;
  }

  async putPage(path: string, records: readonly unknown[]): Promise<void> {
    checkPath(path);
    const body = Buffer.from(JSON.stringify(records), "utf8");
    const blob = this.container.getBlockBlobClient(path);
    await guardStorage("spool a review page", () => this.lazy.write(() => blob.upload(body, body.length, { blobHTTPHeaders: { blobContentType: "application/json" } })));
  }

  async getPage(path: string): Promise<unknown[] | undefined> {
    checkPath(path);
    const blob = this.container.getBlockBlobClient(path);
    const body = await guardStorage("read a spooled review page", async () => {
      try {
        return await blob.downloadToBuffer(0, undefined, { maxRetryRequestsPerBlock: 3 });
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
    if (body === undefined) return undefined;
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (!Array.isArray(parsed)) throw new Error(`The spooled page ${path} is not an array of records`);
    return parsed as unknown[];
  }

  async removeUnder(prefix: string): Promise<number> {
    checkPath(prefix);
    let removed = 0;
    const pages = this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1000 });
    for (;;) {
      const next = await guardStorage("list spooled review pages", async () => {
        try {
          return await pages.next();
        } catch (error) {
          if (storageErrorInfo(error).code === "ContainerNotFound") return undefined;
          throw error;
        }
      });
      if (!next || next.done === true) return removed;
      for (const item of next.value.segment.blobItems) {
        await guardStorage("delete spooled review pages", () => this.container.getBlockBlobClient(item.name).deleteIfExists());
        removed++;
      }
    }
  }
}
