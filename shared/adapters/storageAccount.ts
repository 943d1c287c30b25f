import { TableClient, TableServiceClient, type TableServiceClientOptions } from "@azure/data-tables";
import { QueueServiceClient, StorageRetryPolicyType } from "@azure/storage-queue";
import { BlobServiceClient, StorageRetryPolicyType as BlobRetryPolicyType } from "@azure/storage-blob";
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
  /** Blob service (preserved evidence). */
  blobService(): BlobServiceClient;
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
/** Blob calls move pages of records (megabytes) and stream whole day blobs back: a longer try, the same few retries. */
const BLOB_RETRY = { retryPolicyType: BlobRetryPolicyType.EXPONENTIAL, maxTries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 800, tryTimeoutInMs: 120_000 };

function parseConnectionString(cs: string): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const segment of cs.split(";")) {
    const at = segment.indexOf("=");
    if (at > 0) parts[segment.slice(0, at).trim().toLowerCase()] = segment.slice(at + 1).trim();
  }
  return parts;
}

/**
 * `UseDevelopmentStorage=true` (what Core Tools' local.settings.json uses) means the storage emulator on its standard
 * ports; the account and key are Azurite's public, documented development ones.
 */
export const DEVELOPMENT_STORAGE =
  "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
  "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1";

export function storageAccountFromSettings(settings: Settings): StorageAccount {
  const given = settings.AzureWebJobsStorage;
  const cs = given?.replace(/\s+/g, "").toLowerCase() === "usedevelopmentstorage=true" ? DEVELOPMENT_STORAGE : given;
  if (cs) {
    const parts = parseConnectionString(cs);
    const insecure = (parts.tableendpoint ?? parts.defaultendpointsprotocol ?? "").startsWith("http") &&
      !(parts.tableendpoint ?? "https").startsWith("https");
    const tableOptions = { ...TABLE_OPTIONS, allowInsecureConnection: insecure || parts.defaultendpointsprotocol === "http" };
    return {
      table: (name) => TableClient.fromConnectionString(cs, name, tableOptions),
      tableService: () => TableServiceClient.fromConnectionString(cs, tableOptions),
      queueService: () => QueueServiceClient.fromConnectionString(cs, { retryOptions: QUEUE_RETRY }),
      blobService: () => BlobServiceClient.fromConnectionString(cs, { retryOptions: BLOB_RETRY }),
      describe: () => `connection string (account ${parts.accountname ?? "?"}, tables at ${parts.tableendpoint ?? "default endpoint"})`,
    };
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const tableUri = settings.AzureWebJobsStorage__tableServiceUri ?? (account ? `https://${account}.table.core.windows.net` : undefined);
  const queueUri = settings.AzureWebJobsStorage__queueServiceUri ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  const blobUri = settings.AzureWebJobsStorage__blobServiceUri ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  if (!tableUri || !queueUri) {
    throw new Error("No storage configured: set AzureWebJobsStorage, or AzureWebJobsStorage__accountName for identity-based access");
  }
  const clientId = settings.AzureWebJobsStorage__clientId;
  const credential: TokenCredential = clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
  return {
    table: (name) => new TableClient(tableUri, name, credential, TABLE_OPTIONS),
    tableService: () => new TableServiceClient(tableUri, credential, TABLE_OPTIONS),
    queueService: () => new QueueServiceClient(queueUri, credential, { retryOptions: QUEUE_RETRY }),
    blobService: () => {
      if (!blobUri) throw new Error("No blob endpoint configured: set AzureWebJobsStorage__blobServiceUri or AzureWebJobsStorage__accountName");
      return new BlobServiceClient(blobUri, credential, { retryOptions: BLOB_RETRY });
    },
    describe: () => `managed identity (tables at ${tableUri})`,
  };
}
