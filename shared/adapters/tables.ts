import type { ListTableEntitiesOptions, TableClient, TableEntityResult, TransactionAction } from "@azure/data-tables";
import { guardStorage, isStatus, storageErrorInfo } from "./storageErrors.js";

/** Table names (DESIGN.md "Storage"). */
export const TABLES = {
  notices: "Notices",
  cursors: "Cursors",
  tenants: "Tenants",
  subscriptions: "Subscriptions",
} as const;

/**
 * Entity Group Transactions: at most 100 actions, one partition, 4 MiB of payload
 * (https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions).
 * The byte budget keeps a batch of large entities well under the payload limit.
 */
const MAX_ACTIONS = 100;
const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Rough wire size of an action, for the transaction byte budget (binary properties travel base64-encoded). */
function approximateBytes(entity: object): number {
  let bytes = 256;
  for (const [name, value] of Object.entries(entity)) {
    bytes += name.length + 16 + (value instanceof Uint8Array ? Math.ceil(value.length / 3) * 4 : Buffer.byteLength(String(value)) * 1.2);
  }
  return bytes;
}

/** Splits one partition's actions into transactions within the action and byte limits. */
export function* transactions(actions: readonly TransactionAction[]): Generator<TransactionAction[]> {
  let batch: TransactionAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    const size = approximateBytes(action[1]);
    if (batch.length > 0 && (batch.length >= MAX_ACTIONS || bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(action);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * A table that creates itself on first use: creating a table that exists is not an error in @azure/data-tables,
 * and a table that disappears (Azurite restarted in memory) is recreated on the next call that finds it missing.
 */
export class LazyTable {
  private ready: Promise<void> | undefined;
  constructor(readonly client: TableClient) {}

  async run<T>(call: (client: TableClient) => Promise<T>): Promise<T> {
    await this.ensure();
    try {
      return await call(this.client);
    } catch (error) {
      if (storageErrorInfo(error).code === "TableNotFound") {
        this.ready = undefined;
        await this.ensure();
        return call(this.client);
      }
      throw error;
    }
  }

  /** Submits one partition's actions as as few transactions as the limits allow (batched writes, DESIGN.md). */
  async submitTransactions(operation: string, actions: readonly TransactionAction[]): Promise<void> {
    for (const batch of transactions(actions)) {
      await guardStorage(operation, () => this.run((t) => t.submitTransaction(batch)));
    }
  }

  /**
   * Pages of a query, streamed (STYLE.md habit 7); an outage while paging becomes StorageUnavailableError like any
   * other storage call.
   */
  async *pages<E extends object>(operation: string, queryOptions: ListTableEntitiesOptions["queryOptions"] = {}, maxPageSize = 1000): AsyncIterable<TableEntityResult<E>[]> {
    await guardStorage(operation, () => this.run(() => Promise.resolve()));
    const open = (): AsyncIterator<TableEntityResult<E>[]> =>
      this.client.listEntities<E>({ queryOptions }).byPage({ maxPageSize })[Symbol.asyncIterator]();
    let iterator = open();
    let first = true;
    for (;;) {
      const next = await guardStorage(operation, async () => {
        try {
          return await iterator.next();
        } catch (error) {
          // The table vanished under us (an emulator restarted in memory): recreate it and query again.
          if (!first || storageErrorInfo(error).code !== "TableNotFound") throw error;
          this.ready = undefined;
          await this.ensure();
          iterator = open();
          return iterator.next();
        }
      });
      first = false;
      if (next.done) return;
      yield next.value;
    }
  }

  /** Every entity of a query, one page at a time. */
  async *entities<E extends object>(operation: string, queryOptions: ListTableEntitiesOptions["queryOptions"] = {}): AsyncIterable<TableEntityResult<E>> {
    for await (const page of this.pages<E>(operation, queryOptions)) yield* page;
  }

  private ensure(): Promise<void> {
    this.ready ??= this.client.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }
}

export { isStatus };
