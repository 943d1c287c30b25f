import { settingsFromProcess, type Settings } from "./config.js";
import { invocationLogger } from "./adapters/logger.js";
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
import { createGraphClientFactory, type GraphClientFactory } from "./adapters/graph/graphClientFactory.js";
import { graphConfigurationFromSettings } from "./adapters/graph/graphCredentials.js";
import { GraphServiceHealthSource } from "./adapters/graph/graphServiceHealthSource.js";
import { TableTenantLeases } from "./adapters/graph/tenantLease.js";
import { TableCursorStore } from "./adapters/tableCursorStore.js";
import type { PollStatusStore, ServiceHealthSource, TenantLeasePort, WatermarkStore } from "./app/pollServiceHealth.js";

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
  /** Graph per customer tenant; undefined when the settings configure no Graph credentials (see graphNotConfigured). */
  graph: GraphClientFactory | undefined;
  /** Why Graph is not configured (for the poller's log and heartbeat); undefined when it is. */
  graphNotConfigured: string | undefined;
  /** Microsoft 365 service health issues through `graph`; undefined without Graph. */
  serviceHealth: ServiceHealthSource | undefined;
  watermarks: WatermarkStore;
  pollStatus: PollStatusStore;
  leases: TenantLeasePort;
  logger?: Logger;
}

export function createServices(settings: Settings, overrides: Partial<Services> = {}): Services {
  const account = overrides.account ?? storageAccountFromSettings(settings);
  const audience = settings.BLINDWINDOW_WEBHOOK_AUDIENCE;
  const queue = new StorageWorkQueue(account.queueService());
  // Graph is optional: without its settings the poller only reports "Graph not configured". Building the factory
  // touches no network; credentials and clients are made per tenant on first use.
  const graphConfiguration = graphConfigurationFromSettings(settings);
  const graph = overrides.graph ?? (graphConfiguration.configured ? createGraphClientFactory(settings) : undefined);
  const cursors = new TableCursorStore(account);
  const clock = overrides.clock ?? systemClock;
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
    clock,
    graph,
    graphNotConfigured: graph ? undefined : graphConfiguration.configured ? "no credentials" : graphConfiguration.reason,
    serviceHealth: graph ? new GraphServiceHealthSource(graph) : undefined,
    watermarks: cursors,
    pollStatus: cursors,
    leases: new TableTenantLeases(account, clock),
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

/** The logger a function invocation uses: the injected one (tests), else the invocation's own, at the configured level. */
export function loggerFor(services: Services, context: Parameters<typeof invocationLogger>[0]): Logger {
  return services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
}
