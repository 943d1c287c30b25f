/**
 * Azurite as a separate process (its CLI), for measurements where storage must not share this process's event loop —
 * as in Azure, where storage is another machine. Tests and the local host use the in-process EmbeddedAzurite.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteService } from "./azurite.js";

const require = createRequire(import.meta.url);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => { resolve(port); });
    });
  });
}

export class AzuriteProcess {
  private constructor(private readonly child: ChildProcess, private readonly ports: Record<AzuriteService, number>) {}

  /** Starts Azurite; `location`: keep its data in that directory (survives this process), else in memory. */
  static async start(options: { location?: string } = {}): Promise<AzuriteProcess> {
    const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
    const cli = require.resolve("azurite/dist/src/azurite.js");
    const persistence = options.location === undefined ? ["--inMemoryPersistence"] : ["--location", options.location];
    const child = spawn(process.execPath, [
      cli, ...persistence, "--disableTelemetry", "--skipApiVersionCheck", "--silent",
      "--blobHost", "127.0.0.1", "--blobPort", String(ports.blob),
      "--queueHost", "127.0.0.1", "--queuePort", String(ports.queue),
      "--tableHost", "127.0.0.1", "--tablePort", String(ports.table),
    ], { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => { reject(new Error(`Azurite did not start:\n${out}`)); }, 30_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if ((out.match(/successfully listening/gi) ?? []).length >= 3) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`Azurite exited with ${String(code)}:\n${out}`)); });
    });
    return new AzuriteProcess(child, ports);
  }

  port(service: AzuriteService): number {
    return this.ports[service];
  }

  get connectionString(): string {
    return [
      "DefaultEndpointsProtocol=http",
      `AccountName=${AZURITE_ACCOUNT}`,
      `AccountKey=${AZURITE_KEY}`,
      `BlobEndpoint=http://127.0.0.1:${this.ports.blob}/${AZURITE_ACCOUNT}`,
      `QueueEndpoint=http://127.0.0.1:${this.ports.queue}/${AZURITE_ACCOUNT}`,
      `TableEndpoint=http://127.0.0.1:${this.ports.table}/${AZURITE_ACCOUNT}`,
    ].join(";");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
