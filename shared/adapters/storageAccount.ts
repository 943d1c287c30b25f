import { TableClient, TableServiceClient, type TableServiceClientOptions } from "@azure/data-tables";
import { QueueServiceClient, StorageRetryPolicyType } from "@azure/storage-queue";
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import type { Settings } from "../config.js";

/**
 * Where storage lives and how to reach it, from `AzureWebJobsStorage` (connection string, e.g. Azurite) or the
 * identity-based `AzureWebJobsStorage__*` settings Azure uses with shared keys disabled.
 */
export interface StorageAccount {
  table(name: string): TableClient;
  tableService(): TableServiceClient;
  queueService(): QueueServiceClient;
  /** Endpoint description without secrets, for logs. */
  describe(): string;
}

/**
 * Retries inside one request stay short: an HTTP sender is waiting, and a longer outage belongs to the sender's
 * retry (503 + Retry-After) or the queue's dequeue count (STYLE.md habit 8).
 */
const TABLE_OPTIONS: TableServiceClientOptions = {
  retryOptions: { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 800 },
};
const QUEUE_RETRY = { retryPolicyType: StorageRetryPolicyType.EXPONENTIAL, maxTries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 800, tryTimeoutInMs: 10_000 };

function parseConnectionString(cs: string): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const segment of cs.split(";")) {
    const at = segment.indexOf("=");
    if (at > 0) parts[segment.slice(0, at).trim().toLowerCase()] = segment.slice(at + 1).trim();
  }
  return parts;
}

export function storageAccountFromSettings(settings: Settings): StorageAccount {
  const cs = settings.AzureWebJobsStorage;
  if (cs) {
    if (cs === "UseDevelopmentStorage=true") {
      throw new Error("AzureWebJobsStorage=UseDevelopmentStorage=true: give Azurite's full connection string, or unset it to use the embedded Azurite");
    }
    const parts = parseConnectionString(cs);
    const insecure = (parts.tableendpoint ?? parts.defaultendpointsprotocol ?? "").startsWith("http") &&
      !(parts.tableendpoint ?? "https").startsWith("https");
    const tableOptions = { ...TABLE_OPTIONS, allowInsecureConnection: insecure || parts.defaultendpointsprotocol === "http" };
    return {
      table: (name) => TableClient.fromConnectionString(cs, name, tableOptions),
      tableService: () => TableServiceClient.fromConnectionString(cs, tableOptions),
      queueService: () => QueueServiceClient.fromConnectionString(cs, { retryOptions: QUEUE_RETRY }),
      describe: () => `connection string (account ${parts.accountname ?? "?"}, tables at ${parts.tableendpoint ?? "default endpoint"})`,
    };
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const tableUri = settings.AzureWebJobsStorage__tableServiceUri ?? (account ? `https://${account}.table.core.windows.net` : undefined);
  const queueUri = settings.AzureWebJobsStorage__queueServiceUri ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  if (!tableUri || !queueUri) {
    throw new Error("No storage configured: set AzureWebJobsStorage, or AzureWebJobsStorage__accountName for identity-based access");
  }
  const clientId = settings.AzureWebJobsStorage__clientId;
  const credential: TokenCredential = clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
  return {
    table: (name) => new TableClient(tableUri, name, credential, TABLE_OPTIONS),
    tableService: () => new TableServiceClient(tableUri, credential, TABLE_OPTIONS),
    queueService: () => new QueueServiceClient(queueUri, credential, { retryOptions: QUEUE_RETRY }),
    describe: () => `managed identity (tables at ${tableUri})`,
  };
}
