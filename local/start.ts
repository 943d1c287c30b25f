/**
 * `npm start`: the functions on this machine, no Azure account and no Core Tools. Storage is `AzureWebJobsStorage`
 * when set (also read from local.settings.json "Values"), otherwise an Azurite embedded in this process.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { exportToProcess, loadSettings, processEnvironment } from "../shared/config.js";
import { EmbeddedAzurite } from "./azurite.js";
import { startLocalHost } from "./localHost.js";
import { DEVELOPMENT_STORAGE } from "../shared/adapters/storageAccount.js";
import { projectRoot } from "./hostSettings.js";
import { createServices, useServices } from "../shared/runtime.js";
import { createGraphClientFactory } from "../shared/adapters/graph/graphClientFactory.js";

const root = projectRoot(path.dirname(fileURLToPath(import.meta.url)));

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
}

function localSettingsValues(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { Values?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(parsed.Values ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"));
}

const env = processEnvironment();
const program = new Command("blindwindow-local")
  .description("Runs blindwindow's functions locally: HTTP on 127.0.0.1 under /api, queue triggers, timers")
  .option("--port <n>", "HTTP port (0 = any free port)", integer, Number(env.PORT ?? 7071))
  .option("--data <dir>", "keep the embedded Azurite's data in this directory instead of memory")
  .option("--retry-delay-ms <n>", "delay before a failed queue message is retried (host.json visibilityTimeout)", integer)
  .option("--max-poll-ms <n>", "longest wait between polls of an empty queue (host.json maxPollingInterval)", integer)
  .option("--no-timers", "do not run timer functions on their schedules")
  .option("--visibility-seconds <n>", "how long a received queue message stays invisible (default: the function timeout)", integer)
  .option("--clock <iso>", "run the functions' clock from this instant (with the Graph simulator's --now), moving with wall time")
  .option("--graph-time-scale <n>", "divide Graph throttle windows by this, as the simulator's --time-scale does", integer)
  .parse();
const opts = program.opts<{ port: number; data?: string; retryDelayMs?: number; maxPollMs?: number; visibilitySeconds?: number; timers: boolean; clock?: string; graphTimeScale?: number }>();

const log = (level: string, message: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`);
};

try {
  // Like Core Tools: local.settings.json supplies values the environment does not.
  const values: Record<string, string> = { ...localSettingsValues(path.join(root, "local.settings.json")) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) values[k] = v;

  let azurite: EmbeddedAzurite | undefined;
  const developmentStorage = values.AzureWebJobsStorage?.replace(/\s+/g, "").toLowerCase() === "usedevelopmentstorage=true";
  if (developmentStorage) {
    // Core Tools' convention (local.settings.example.json): the emulator on its standard ports. Start it here, or
    // use the one already listening there.
    try {
      azurite = await EmbeddedAzurite.start({ ports: { blob: 10000, queue: 10001, table: 10002 }, ...(opts.data ? { location: path.resolve(opts.data) } : {}) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
      log("info", "an emulator already listens on 10000-10002: using it");
    }
    values.AzureWebJobsStorage = azurite?.connectionString ?? DEVELOPMENT_STORAGE;
  } else if (!values.AzureWebJobsStorage && !values.AzureWebJobsStorage__accountName) {
    azurite = await EmbeddedAzurite.start(opts.data ? { location: path.resolve(opts.data) } : {});
    values.AzureWebJobsStorage = azurite.connectionString;
  }
  const generatedKey = !values.BLINDWINDOW_FUNCTION_KEY;
  if (generatedKey) values.BLINDWINDOW_FUNCTION_KEY = randomBytes(24).toString("base64url");
  const settings = loadSettings(values); // Fail fast, with every problem named, before anything listens.
  exportToProcess(values);
  const storage = settings.AzureWebJobsStorage;
  if (!storage) throw new Error("The local host needs AzureWebJobsStorage (a connection string) to poll queues");
  if (opts.clock !== undefined || opts.graphTimeScale !== undefined) {
    // Local runs against the simulator: its data lives in its own time (e.g. September 2024), and its limits may be
    // scaled; the functions get the same clock and a Graph client scaled alike.
    const startMs = opts.clock === undefined ? Date.now() : Date.parse(opts.clock);
    if (Number.isNaN(startMs)) throw new Error(`--clock is not an ISO 8601 instant: ${String(opts.clock)}`);
    const offset = startMs - Date.now();
    const clock = { now: () => new Date(Date.now() + offset) };
    const graph = settings.BLINDWINDOW_GRAPH_BASE_URL || settings.BLINDWINDOW_GRAPH_CLIENT_ID
      ? { graph: createGraphClientFactory(settings, { timeScale: opts.graphTimeScale ?? 1 }) }
      : {};
    useServices(createServices(settings, { clock, ...graph }));
  }

  const host = await startLocalHost({
    storageConnectionString: storage,
    functionKey: settings.BLINDWINDOW_FUNCTION_KEY ?? "",
    port: opts.port,
    timers: opts.timers,
    queue: {
      ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
      ...(opts.maxPollMs !== undefined ? { maxPollMs: opts.maxPollMs } : {}),
      ...(opts.visibilitySeconds !== undefined ? { visibilitySeconds: opts.visibilitySeconds } : {}),
    },
    log: (level, message) => { if (level !== "debug") log(level, message); },
  });

  const out = (line = ""): void => { process.stdout.write(`${line}\n`); };
  out(`blindwindow local host listening on ${host.url}`);
  for (const fn of host.functions) {
    const t = fn.trigger;
    const what = t.type === "httpTrigger" ? `${(t.methods ?? []).join(",")} ${host.url}/api/${t.route ?? fn.name}` : t.type === "queueTrigger" ? `queue ${t.queueName ?? "?"}` : `timer ${t.schedule ?? "?"}`;
    out(`  ${fn.name.padEnd(16)} ${what}`);
  }
  out(`function key: ${generatedKey ? `${values.BLINDWINDOW_FUNCTION_KEY} (generated; set BLINDWINDOW_FUNCTION_KEY to fix it)` : "from BLINDWINDOW_FUNCTION_KEY"}`);
  if (azurite) {
    out(`storage: embedded Azurite${opts.data ? ` in ${opts.data}` : " (in memory)"}; for the CLI:`);
    out(`  export AzureWebJobsStorage='${azurite.connectionString}'`);
  }
  out(`try: curl -s -X POST '${host.url}/api/notices/azure-monitor' -H 'content-type: application/json' -H 'x-functions-key: <key>' --data @test/fixtures/microsoft-docs/azure-activitylog-webhook-servicehealth-legacy-schema.json`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log("info", `${signal}: stopping`);
    void host.close().then(() => azurite?.stop()).then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGINT", () => { shutdown("SIGINT"); });
  process.on("SIGTERM", () => { shutdown("SIGTERM"); });
} catch (error) {
  process.stderr.write(`blindwindow: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
