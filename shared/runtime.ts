import { settingsFromProcess, type Settings } from "./config.js";
import type { Clock, HeartbeatStore, Logger, NoticeStore, StorageProbe, TenantStore, WorkQueue } from "./app/ports.js";
import { systemClock } from "./app/ports.js";
import { storageAccountFromSettings, type StorageAccount } from "./adapters/storageAccount.js";
import { TableNoticeStore } from "./adapters/tableNoticeStore.js";
import { TableTenantStore } from "./adapters/tableTenantStore.js";
import { StorageWorkQueue } from "./adapters/storageQueue.js";
import { AccountProbe, TableHeartbeatStore } from "./adapters/tableHeartbeatStore.js";
import { createBearerVerifier, type BearerVerifier } from "./http/webhookAuth.js";
import type { ControlPlanner, LedgerStore } from "./app/ledgerPorts.js";
import { TableControlPlanner, TableLedgerStore } from "./adapters/tableLedgerStore.js";
import { retentionDays } from "./domain/tenant.js";

/** Everything a function needs, built once per process from validated settings (the composition root). */
export interface Services {
  settings: Settings;
  account: StorageAccount;
  notices: NoticeStore;
  tenants: TenantStore;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  probe: StorageProbe;
  ledger: LedgerStore;
  controls: ControlPlanner;
  retentionDays: typeof retentionDays;
  clock: Clock;
  /** Verifies secure-webhook bearer tokens; undefined when BLINDWINDOW_WEBHOOK_AUDIENCE is not set. */
  verifyBearer: BearerVerifier | undefined;
  logger?: Logger;
}

export function createServices(settings: Settings, overrides: Partial<Services> = {}): Services {
  const account = overrides.account ?? storageAccountFromSettings(settings);
  const audience = settings.BLINDWINDOW_WEBHOOK_AUDIENCE;
  const queue = new StorageWorkQueue(account.queueService());
  return {
    settings,
    account,
    notices: new TableNoticeStore(account),
    tenants: new TableTenantStore(account),
    queue,
    ledger: new TableLedgerStore(account),
    controls: new TableControlPlanner(account, queue),
    retentionDays,
    heartbeats: new TableHeartbeatStore(account),
    probe: new AccountProbe(account),
    clock: systemClock,
    verifyBearer: audience
      ? createBearerVerifier({
          audience,
          ...(settings.BLINDWINDOW_WEBHOOK_TENANT_ID ? { tenantId: settings.BLINDWINDOW_WEBHOOK_TENANT_ID } : {}),
          ...(settings.BLINDWINDOW_WEBHOOK_JWKS_URL ? { jwksUrl: settings.BLINDWINDOW_WEBHOOK_JWKS_URL } : {}),
        })
      : undefined,
    ...overrides,
  };
}

let cached: Services | undefined;

/** The process-wide services, from the process settings on first use. */
export function getServices(): Services {
  cached ??= createServices(settingsFromProcess());
  return cached;
}
