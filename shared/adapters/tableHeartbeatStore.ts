import { odata } from "@azure/data-tables";
import type { Heartbeat, HeartbeatStore, StorageProbe } from "../app/ports.js";
import { escapeKey, unescapeKey } from "../domain/tableKey.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage } from "./storageErrors.js";
import { LazyTable, TABLES } from "./tables.js";

const PARTITION = "heartbeat";

/** Heartbeats live in the Cursors table (job `heartbeat`, row per component). */
export class TableHeartbeatStore implements HeartbeatStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(TABLES.cursors));
  }

  async beat(h: Heartbeat): Promise<void> {
    await guardStorage("record heartbeat", () =>
      this.table.run((t) =>
        t.upsertEntity(
          { partitionKey: PARTITION, rowKey: escapeKey(h.component), at: h.at, expectedEverySeconds: h.expectedEverySeconds, details: h.details ?? "" },
          "Replace",
        ),
      ),
    );
  }

  async list(): Promise<Heartbeat[]> {
    return guardStorage("list heartbeats", async () => {
      const out: Heartbeat[] = [];
      await this.table.run(async (t) => {
        for await (const e of t.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } })) {
          out.push({
            component: unescapeKey(String(e.rowKey)),
            at: String(e.at),
            expectedEverySeconds: Number(e.expectedEverySeconds ?? 0),
            ...(typeof e.details === "string" && e.details ? { details: e.details } : {}),
          });
        }
      });
      return out.sort((a, b) => a.component.localeCompare(b.component));
    });
  }
}

/** Probes both services with the cheapest calls that need a working account. */
export class AccountProbe implements StorageProbe {
  constructor(private readonly account: StorageAccount) {}
  async probe(): Promise<{ tables: boolean; queues: boolean }> {
    const ok = (p: Promise<unknown>): Promise<boolean> => p.then(() => true, () => false);
    const [tables, queues] = await Promise.all([
      ok(this.account.tableService().listTables().byPage({ maxPageSize: 1 }).next()),
      ok(this.account.queueService().getProperties()),
    ]);
    return { tables, queues };
  }
}
