import { settingsFromProcess, type Settings } from "./config.js";
import type { Clock, HeartbeatStore, Logger, NoticeStore, StorageProbe, WorkQueue } from "./app/ports.js";
import { systemClock } from "./app/ports.js";
import { storageAccountFromSettings, type StorageAccount } from "./adapters/storageAccount.js";
import { TableNoticeStore } from "./adapters/tableNoticeStore.js";
import { StorageWorkQueue } from "./adapters/storageQueue.js";
import { AccountProbe, TableHeartbeatStore } from "./adapters/tableHeartbeatStore.js";
import { createBearerVerifier, type BearerVerifier } from "./http/webhookAuth.js";

/** Everything a function needs, built once per process from validated settings (the composition root). */
export interface Services {
  settings: Settings;
  account: StorageAccount;
  notices: NoticeStore;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  probe: StorageProbe;
  clock: Clock;
  /** Verifies secure-webhook bearer tokens; undefined when BLINDWINDOW_WEBHOOK_AUDIENCE is not set. */
  verifyBearer: BearerVerifier | undefined;
  logger?: Logger;
}

export function createServices(settings: Settings, overrides: Partial<Services> = {}): Services {
  const account = overrides.account ?? storageAccountFromSettings(settings);
  const audience = settings.BLINDWINDOW_WEBHOOK_AUDIENCE;
  return {
    settings,
    account,
    notices: new TableNoticeStore(account),
    queue: new StorageWorkQueue(account.queueService()),
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
