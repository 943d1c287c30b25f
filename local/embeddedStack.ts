/**
 * Everything blindwindow needs on one machine, in this process: embedded Azurite and the local host with the real
 * function modules. Used by the end-to-end tests, the benchmarks and the demo. The functions read their settings
 * from the environment as in Azure, so this sets the process environment (one stack per process).
 */
import { randomBytes } from "node:crypto";
import { exportToProcess } from "../shared/config.js";
import { EmbeddedAzurite, type AzuriteOptions } from "./azurite.js";
import { startLocalHost, type HostLog, type LocalHost, type LocalHostOptions } from "./localHost.js";

export interface EmbeddedStack {
  azurite: EmbeddedAzurite;
  host: LocalHost;
  functionKey: string;
  connectionString: string;
  close(): Promise<void>;
}

export async function startEmbeddedStack(options: {
  settings?: Record<string, string>;
  azurite?: AzuriteOptions;
  host?: Partial<Pick<LocalHostOptions, "port" | "queue" | "timers">>;
  log?: HostLog;
} = {}): Promise<EmbeddedStack> {
  const azurite = await EmbeddedAzurite.start(options.azurite ?? {});
  const functionKey = options.settings?.BLINDWINDOW_FUNCTION_KEY ?? randomBytes(24).toString("base64url");
  exportToProcess({ ...options.settings, AzureWebJobsStorage: azurite.connectionString, BLINDWINDOW_FUNCTION_KEY: functionKey });
  const host = await startLocalHost({
    storageConnectionString: azurite.connectionString,
    functionKey,
    port: options.host?.port ?? 0,
    timers: options.host?.timers ?? false,
    queue: { minPollMs: 20, maxPollMs: 200, retryDelayMs: 0, ...options.host?.queue },
    log: options.log ?? (() => undefined),
  });
  return {
    azurite,
    host,
    functionKey,
    connectionString: azurite.connectionString,
    async close() {
      await host.close();
      await azurite.stop();
    },
  };
}
