/**
 * Everything blindwindow needs on one machine: Azurite and the local host with the real function modules. Used by
 * the end-to-end tests, the benchmarks and the demo. The functions read their settings from the environment as in
 * Azure, so this sets the process environment (one stack per process).
 */
import { randomBytes } from "node:crypto";
import { exportToProcess } from "../shared/config.js";
import { EmbeddedAzurite, type AzuriteOptions } from "./azurite.js";
import { AzuriteProcess } from "./azuriteProcess.js";
import { startLocalHost, type HostLog, type LocalHost, type LocalHostOptions } from "./localHost.js";

export interface StackOptions {
  settings?: Record<string, string>;
  azurite?: AzuriteOptions;
  host?: Partial<Pick<LocalHostOptions, "port" | "queue" | "timers">>;
  log?: HostLog;
}

export interface Stack<A extends { connectionString: string; stop(): Promise<void> }> {
  azurite: A;
  host: LocalHost;
  functionKey: string;
  connectionString: string;
  close(): Promise<void>;
}

/** Azurite in this process (services can be stopped and restarted to simulate outages). */
export type EmbeddedStack = Stack<EmbeddedAzurite>;

async function startOn<A extends { connectionString: string; stop(): Promise<void> }>(azurite: A, options: StackOptions): Promise<Stack<A>> {
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

export async function startEmbeddedStack(options: StackOptions = {}): Promise<EmbeddedStack> {
  return startOn(await EmbeddedAzurite.start(options.azurite ?? {}), options);
}

/** Azurite as its own process, so storage does not share the host's event loop (benchmarks). */
export async function startStackWithAzuriteProcess(options: Omit<StackOptions, "azurite"> = {}): Promise<Stack<AzuriteProcess>> {
  return startOn(await AzuriteProcess.start(), options);
}
