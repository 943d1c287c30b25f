import { SettingsError, settingsFromProcess, type Settings } from "./config.js";
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
import type { DeliveryStore, TaskChannels, TaskStore } from "./app/taskPorts.js";
import { TableTaskStore } from "./adapters/tableTaskStore.js";
import { TableDeliveryStore } from "./adapters/tableDeliveryStore.js";
import { GraphPlannerChannel } from "./adapters/graph/graphPlannerChannel.js";
import { GraphMailChannel } from "./adapters/graph/graphMailChannel.js";
import { TeamsWorkflowChannel } from "./adapters/teamsWorkflowChannel.js";
import type { ControlRunStore, FindingStore } from "./app/reviewPorts.js";
import type { ReviewSource } from "./app/reviewSource.js";
import { TurnSlots } from "./app/turnSlots.js";
import type { EvidenceStore } from "./app/evidencePorts.js";
import type { ReviewSpool } from "./app/reviewSpool.js";
import type { PassOptions } from "./app/reviewPass.js";
import { TableControlStore, TableFindingStore } from "./adapters/tableReviewStore.js";
import { GraphReviewSource } from "./adapters/graph/graphReviewSource.js";
import { BlobEvidenceStore } from "./adapters/blobEvidenceStore.js";
import { BlobReviewSpool } from "./adapters/blobReviewSpool.js";
import { DetectionThresholdsSchema } from "./domain/detections/index.js";

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
  /** Tasks for the security team (Tasks table) and their outbox (Deliveries table). */
  tasks: TaskStore;
  deliveries: DeliveryStore;
  /** Where tasks go: Planner and e-mail through Graph (undefined without it), Teams through Workflows webhooks. */
  taskChannels: TaskChannels;
  logger?: Logger;
  /** Controls rows for the control runner (claims, leases, checkpoints, summaries). */
  controlRuns: ControlRunStore;
  findings: FindingStore;
  /** Preserved evidence (Blob). */
  evidence: EvidenceStore;
  /** Pages a review has read and not consumed yet (Blob), so it can checkpoint after every page. */
  reviewSpool: ReviewSpool;
  /** What reviews read from Graph; undefined without Graph. */
  reviewSource: ReviewSource | undefined;
  /** How reviews run (from the settings). */
  review: PassOptions & { budgetMs: number; leaseMs: number };
  /** Control turns this process runs at once (one per process: services are built once). */
  turnSlots: TurnSlots;
}

/** Review settings, with the detection thresholds JSON validated here (an invalid override stops start-up). */
export function reviewOptionsFromSettings(settings: Settings): Services["review"] {
  let overrides: unknown = {};
  if (settings.BLINDWINDOW_DETECTION_THRESHOLDS !== undefined) {
    try {
      overrides = JSON.parse(settings.BLINDWINDOW_DETECTION_THRESHOLDS);
    } catch {
      throw new SettingsError("Invalid settings: BLINDWINDOW_DETECTION_THRESHOLDS is not JSON");
    }
  }
  const thresholds = DetectionThresholdsSchema.safeParse(overrides);
  if (!thresholds.success) {
    throw new SettingsError(`Invalid settings: BLINDWINDOW_DETECTION_THRESHOLDS ${thresholds.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  }
  const budgetMs = settings.BLINDWINDOW_CONTROL_BUDGET_SECONDS * 1000;
  return {
    budgetMs,
    // A lease outlives a turn by a quarter and 5 s (10 min 5 s for the default 8-minute turn); a killed worker's
    // control is taken over after that.
    leaseMs: Math.round(budgetMs * 1.25) + 5000,
    concurrency: settings.BLINDWINDOW_REVIEW_CONCURRENCY,
    sliceTargetRecords: settings.BLINDWINDOW_REVIEW_SLICE_RECORDS,
    baselineDays: settings.BLINDWINDOW_REVIEW_BASELINE_DAYS,
    settleMs: settings.BLINDWINDOW_REVIEW_SETTLE_MINUTES * 60_000,
    followMs: settings.BLINDWINDOW_REVIEW_FOLLOW_HOURS * 3_600_000,
    thresholds: thresholds.data,
  };
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
    tasks: new TableTaskStore(account),
    deliveries: new TableDeliveryStore(account),
    taskChannels: {
      planner: graph ? new GraphPlannerChannel(graph) : undefined,
      mail: graph ? new GraphMailChannel(graph) : undefined,
      teams: new TeamsWorkflowChannel(),
    },
    controlRuns: new TableControlStore(account, { container: settings.BLINDWINDOW_SPOOL_CONTAINER }),
    findings: new TableFindingStore(account),
    evidence: new BlobEvidenceStore(account, settings.BLINDWINDOW_EVIDENCE_CONTAINER),
    reviewSpool: new BlobReviewSpool(account, settings.BLINDWINDOW_SPOOL_CONTAINER),
    reviewSource: graph ? new GraphReviewSource(graph) : undefined,
    review: reviewOptionsFromSettings(settings),
    turnSlots: new TurnSlots(settings.BLINDWINDOW_TURNS_PER_INSTANCE),
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

/**
 * Makes `services` the process-wide services (the local host and the demo: a simulator clock, a Graph client scaled
 * to the simulator's throttling). Functions pick them up on their next invocation.
 */
export function useServices(services: Services): void {
  cached = services;
}

/** The process-wide services, from the process settings on first use. */
export function getServices(): Services {
  cached ??= createServices(settingsFromProcess());
  return cached;
}

/** The logger a function invocation uses: the injected one (tests), else the invocation's own, at the configured level. */
export function loggerFor(services: Services, context: Parameters<typeof invocationLogger>[0]): Logger {
  return services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
}
