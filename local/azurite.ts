/**
 * Azurite embedded in this process: the table, queue and blob servers of the `azurite` package, constructed
 * directly (its package main is the VS Code extension, so `require('azurite')` cannot be used; see
 * ../shared/TOOLCHAIN.md). Used by `npm start` when `AzureWebJobsStorage` is not set, and by the test setup.
 */
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerCtor = new (configuration: unknown) => AzuriteServer;
type ConfigCtor = new (...args: unknown[]) => unknown;

/** The well-known development account of Azurite (public, documented; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export type AzuriteService = "table" | "queue" | "blob";

export interface AzuriteOptions {
  /** Directory for on-disk persistence; in memory when omitted. */
  location?: string;
  /** Fixed ports (0 = any free port). */
  ports?: Partial<Record<AzuriteService, number>>;
}

interface Loaded {
  TableServer: ServerCtor;
  TableConfiguration: ConfigCtor;
  QueueServer: ServerCtor;
  QueueConfiguration: ConfigCtor;
  BlobServer: ServerCtor;
  BlobConfiguration: ConfigCtor;
  Logger: { level?: string; transports?: unknown[]; silent?: boolean } | undefined;
}

let loaded: Loaded | undefined;
function load(): Loaded {
  if (loaded) return loaded;
  const mod = (p: string): unknown => (require(`azurite/dist/src/${p}`) as { default: unknown }).default;
  loaded = {
    TableServer: mod("table/TableServer.js") as ServerCtor,
    TableConfiguration: mod("table/TableConfiguration.js") as ConfigCtor,
    QueueServer: mod("queue/QueueServer.js") as ServerCtor,
    QueueConfiguration: mod("queue/QueueConfiguration.js") as ConfigCtor,
    BlobServer: mod("blob/BlobServer.js") as ServerCtor,
    BlobConfiguration: mod("blob/BlobConfiguration.js") as ConfigCtor,
    Logger: undefined,
  };
  return loaded;
}

function makeServer(service: AzuriteService, port: number, location: string | undefined): AzuriteServer {
  const l = load();
  const memory = location === undefined;
  const dir = location ?? "";
  if (location) mkdirSync(location, { recursive: true });
  const db = (name: string): string => path.join(dir, name);
  // Positional constructor arguments, as in azurite 3.35 dist/src/*/…Configuration.js.
  switch (service) {
    case "table":
      return new l.TableServer(
        new l.TableConfiguration("127.0.0.1", port, undefined, db("__azurite_db_table__.json"), false, false,
          undefined, undefined, false, true, "", "", "", undefined, false, memory),
      );
    case "queue":
      return new l.QueueServer(
        new l.QueueConfiguration("127.0.0.1", port, undefined, db("__azurite_db_queue__.json"),
          db("__azurite_db_queue_extent__.json"),
          [{ locationId: "Default", locationPath: db("__queuestorage__"), maxConcurrency: 10 }],
          false, undefined, false, undefined, false, true, "", "", "", undefined, false, memory),
      );
    case "blob":
      return new l.BlobServer(
        new l.BlobConfiguration("127.0.0.1", port, undefined, db("__azurite_db_blob__.json"),
          db("__azurite_db_blob_extent__.json"),
          [{ locationId: "Default", locationPath: db("__blobstorage__"), maxConcurrency: 10 }],
          false, undefined, false, undefined, false, true, "", "", "", undefined, false, memory),
      );
  }
}

function portOf(server: AzuriteServer): number {
  const address = server.getHttpServerAddress();
  const port = Number(new URL(address).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`Azurite reported no port: ${address}`);
  return port;
}

/** A running embedded Azurite; each service can be stopped and started again on the same port. */
export class EmbeddedAzurite {
  private readonly servers = new Map<AzuriteService, AzuriteServer>();
  private readonly ports = new Map<AzuriteService, number>();

  private constructor(private readonly options: AzuriteOptions) {}

  static async start(options: AzuriteOptions = {}): Promise<EmbeddedAzurite> {
    const azurite = new EmbeddedAzurite(options);
    for (const service of ["table", "queue", "blob"] as const) await azurite.startService(service);
    return azurite;
  }

  /** (Re)starts one service, on the port it had before when it was running already. */
  async startService(service: AzuriteService): Promise<void> {
    if (this.servers.has(service)) return;
    const port = this.ports.get(service) ?? this.options.ports?.[service] ?? 0;
    const server = makeServer(service, port, this.options.location);
    await server.start();
    this.servers.set(service, server);
    this.ports.set(service, portOf(server));
  }

  /** Stops one service (to simulate a storage outage). In-memory data of that service is lost. */
  async stopService(service: AzuriteService): Promise<void> {
    const server = this.servers.get(service);
    if (!server) return;
    this.servers.delete(service);
    await server.close();
  }

  port(service: AzuriteService): number {
    const port = this.ports.get(service);
    if (port === undefined) throw new Error(`Azurite ${service} service was never started`);
    return port;
  }

  /** A connection string in the form `AzureWebJobsStorage` takes. */
  get connectionString(): string {
    return [
      "DefaultEndpointsProtocol=http",
      `AccountName=${AZURITE_ACCOUNT}`,
      `AccountKey=${AZURITE_KEY}`,
      `BlobEndpoint=http://127.0.0.1:${this.port("blob")}/${AZURITE_ACCOUNT}`,
      `QueueEndpoint=http://127.0.0.1:${this.port("queue")}/${AZURITE_ACCOUNT}`,
      `TableEndpoint=http://127.0.0.1:${this.port("table")}/${AZURITE_ACCOUNT}`,
    ].join(";");
  }

  async stop(): Promise<void> {
    for (const service of [...this.servers.keys()]) await this.stopService(service);
  }
}
