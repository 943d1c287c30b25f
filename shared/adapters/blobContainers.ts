import type { ContainerClient } from "@azure/storage-blob";
import type { StorageAccount } from "./storageAccount.js";
import { isStatus, storageErrorInfo } from "./storageErrors.js";

/**
 * A blob container made on first use, as LazyTable is for tables: the client is built on the first call (commands
 * that never touch blobs must work with a connection string that names no blob endpoint), the container is created
 * before the first write and once more if it vanished (an emulator restarted in memory). Reads never create it.
 */
export class LazyContainer {
  private client: ContainerClient | undefined;
  private ready: Promise<void> | undefined;

  constructor(private readonly account: StorageAccount, private readonly name: string) {}

  get container(): ContainerClient {
    this.client ??= this.account.blobService().getContainerClient(this.name);
    return this.client;
  }

  /** Runs a write after making sure the container exists; recreates it once if it is gone. */
  async write<T>(call: () => Promise<T>): Promise<T> {
    await this.ensure();
    try {
      return await call();
    } catch (error) {
      if (storageErrorInfo(error).code !== "ContainerNotFound") throw error;
      this.ready = undefined;
      await this.ensure();
      return call();
    }
  }

  private ensure(): Promise<void> {
    this.ready ??= this.container.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        // With identity-based access the app holds data roles on its containers only (infra/app/rbac.bicep) and
        // may not be allowed to create one; the deployment did. The call that follows tells if it is really missing.
        if (isStatus(error, 403)) return;
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }
}
