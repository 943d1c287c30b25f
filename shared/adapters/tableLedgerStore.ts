import { odata, type TableTransaction } from "@azure/data-tables";
import { z } from "zod";
import type { ControlPlanner, ControlType, LedgerStore } from "../app/ledgerPorts.js";
import type { WorkQueue } from "../app/ports.js";
import { WINDOW_STATUSES, type BlindWindow, type Contribution, type WindowStatus } from "../domain/blindWindow.js";
import { LogSourceIdSchema, type LogSourceId } from "../domain/logSource.js";
import { compositeKey, escapeKey } from "../domain/tableKey.js";
import { decodeDocument, encodeDocument } from "./entityCodec.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import { LazyTable } from "./tables.js";

export const LEDGER_TABLES = {
  contributions: "WindowContributions",
  windows: "Windows",
  controls: "Controls",
} as const;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const HistorySchema = z.array(z.object({ noticeKey: z.string(), revision: z.string(), publishedAt: z.string(), start: z.string(), end: z.string().nullable() }));
const ContributionSchema = z.object({
  noticeKey: z.string(),
  effect: z.enum(["loss", "delay"]),
  start: z.string(),
  end: z.string().nullable(),
  confirmed: z.boolean(),
  history: HistorySchema,
});
const BlindWindowSchema = z.object({
  tenantId: z.string(),
  source: LogSourceIdSchema,
  windowId: z.string(),
  start: z.string(),
  end: z.string().nullable(),
  effect: z.enum(["loss", "delay"]),
  status: z.enum(WINDOW_STATUSES),
  notices: z.array(z.string()),
  reviewDeadline: z.string(),
  history: HistorySchema,
});


/** The blind-window ledger in Table Storage: WindowContributions (PK tenant, RK source~notice) and Windows (PK tenant, RK source~window). */
export class TableLedgerStore implements LedgerStore {
  private readonly contributions: LazyTable;
  private readonly windows: LazyTable;

  constructor(account: StorageAccount) {
    this.contributions = new LazyTable(account.table(LEDGER_TABLES.contributions));
    this.windows = new LazyTable(account.table(LEDGER_TABLES.windows));
  }

  async putContribution(tenantId: string, source: LogSourceId, c: Contribution): Promise<void> {
    const entity: Entity = {
      partitionKey: escapeKey(tenantId),
      rowKey: compositeKey(source, c.noticeKey),
      source,
      noticeKey: c.noticeKey,
      start: c.start,
      end: c.end ?? "",
      ...encodeDocument("doc", JSON.stringify(c)),
    };
    await guardStorage("write window contribution", () => this.contributions.run((t) => t.upsertEntity(entity, "Replace")));
  }

  async deleteContribution(tenantId: string, source: LogSourceId, noticeKey: string): Promise<void> {
    await guardStorage("delete window contribution", async () => {
      try {
        await this.contributions.run((t) => t.deleteEntity(escapeKey(tenantId), compositeKey(source, noticeKey)));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    });
  }

  async listContributions(tenantId: string, source: LogSourceId): Promise<Contribution[]> {
    const out: Contribution[] = [];
    const filter = odata`PartitionKey eq ${escapeKey(tenantId)} and source eq ${source}`;
    for await (const e of this.contributions.entities<Entity>("list window contributions", { filter })) {
      out.push(ContributionSchema.parse(JSON.parse(decodeDocument("doc", e) ?? "null")));
    }
    return out;
  }

  async replaceWindows(tenantId: string, source: LogSourceId, windows: readonly BlindWindow[]): Promise<void> {
    const pk = escapeKey(tenantId);
    const existing: string[] = [];
    const filter = odata`PartitionKey eq ${pk} and source eq ${source}`;
    for await (const e of this.windows.entities<Entity>("list windows", { filter, select: ["RowKey"] })) existing.push(e.rowKey);
    await guardStorage("write windows", async () => {
      const wanted = new Map(windows.map((w) => [compositeKey(source, w.windowId), w]));
      const actions: TableTransaction["actions"] = [];
      for (const [rowKey, w] of wanted) {
        actions.push(["upsert", {
          partitionKey: pk,
          rowKey,
          source,
          windowId: w.windowId,
          status: w.status,
          start: w.start,
          end: w.end ?? "",
          effect: w.effect,
          reviewDeadline: w.reviewDeadline,
          notices: w.notices.join(" "),
          ...encodeDocument("doc", JSON.stringify(w)),
        }, "Replace"]);
      }
      for (const rowKey of existing) if (!wanted.has(rowKey)) actions.push(["delete", { partitionKey: pk, rowKey }]);
      await this.windows.submitTransactions("write windows", actions);
    });
  }

  async *listWindows(filter: { tenantId?: string; status?: WindowStatus }): AsyncIterable<BlindWindow> {
    const clauses: string[] = [];
    if (filter.tenantId !== undefined) clauses.push(odata`PartitionKey eq ${escapeKey(filter.tenantId)}`);
    if (filter.status !== undefined) clauses.push(odata`status eq ${filter.status}`);
    const query = clauses.length > 0 ? { filter: clauses.join(" and ") } : {};
    for await (const e of this.windows.entities<Entity>("list windows", query)) {
      yield BlindWindowSchema.parse(JSON.parse(decodeDocument("doc", e) ?? "null"));
    }
  }
}

export interface ControlMessage {
  v: 1;
  kind: "control";
  tenantId: string;
  windowId: string;
  control: ControlType;
}

/** Controls rows (PK tenant, RK window~control) and their messages on the `controls` queue. */
export class TableControlPlanner implements ControlPlanner {
  private readonly controls: LazyTable;
  constructor(account: StorageAccount, private readonly queue: WorkQueue) {
    this.controls = new LazyTable(account.table(LEDGER_TABLES.controls));
  }

  /**
   * Refreshes an existing row's bounds (a later revision moved the window). A finished control whose window grew
   * (a later revision moved its bounds) runs again for the new hours: the runner resumes from its checkpoint, so the
   * hours already reviewed are not read twice. A control waiting (for Graph to settle a window's last records, or an
   * open window's next hours) stops waiting: its lease is cleared and a turn sent. Conditional on the ETag, retried
   * when the runner wrote in between.
   */
  private async refreshBounds(pk: string, rowKey: string, bounds: Record<string, string>): Promise<{ isNew: boolean; enqueued: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.controls.run((t) => t.getEntity(pk, rowKey));
      const moved = row.start !== bounds.start || row.end !== bounds.end;
      const rerun = moved && (row.state === "done" || row.state === "failed");
      const woken = moved && row.state === "running" && typeof row.waitingUntil === "string" && row.waitingUntil !== "";
      try {
        if (moved) {
          await this.controls.run((t) =>
            t.updateEntity(
              { partitionKey: pk, rowKey, ...bounds, ...(rerun ? { state: "planned", enqueuedAt: "" } : {}), ...(woken ? { leaseUntil: "", waitingUntil: "" } : {}) },
              "Merge",
              { etag: row.etag },
            ),
          );
        }
        return { isNew: false, enqueued: !rerun && !woken && typeof row.enqueuedAt === "string" && row.enqueuedAt !== "" };
      } catch (error) {
        if (!isStatus(error, 412) || attempt >= 4) throw error;
      }
    }
  }

  async plan(window: BlindWindow, controls: readonly ControlType[], at: Date): Promise<{ created: ControlType[] }> {
    const created: ControlType[] = [];
    const pk = escapeKey(window.tenantId);
    for (const control of controls) {
      const rowKey = compositeKey(window.windowId, control);
      const bounds = { source: window.source, start: window.start, end: window.end ?? "", reviewDeadline: window.reviewDeadline };
      const { isNew, enqueued } = await guardStorage("plan control", async () => {
        try {
          await this.controls.run((t) => t.createEntity({ partitionKey: pk, rowKey, windowId: window.windowId, control, state: "planned", createdAt: at.toISOString(), urgency: window.reviewDeadline, ...bounds }));
          return { isNew: true, enqueued: false };
        } catch (error) {
          if (!isStatus(error, 409)) throw error;
          return this.refreshBounds(pk, rowKey, bounds);
        }
      });
      if (!enqueued) {
        const message: ControlMessage = { v: 1, kind: "control", tenantId: window.tenantId, windowId: window.windowId, control };
        await this.queue.send("controls", message);
        await guardStorage("mark control enqueued", () =>
          this.controls.run((t) => t.updateEntity({ partitionKey: pk, rowKey, enqueuedAt: at.toISOString() }, "Merge")),
        );
      }
      if (isNew) created.push(control);
    }
    return { created };
  }
}

