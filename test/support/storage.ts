import { TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { createServices, type Services } from "../../shared/runtime.js";
import { loadSettings } from "../../shared/config.js";
import { createLogger } from "../../shared/adapters/logger.js";
import { EmbeddedAzurite } from "../../local/azurite.js";
import type { Clock } from "../../shared/app/ports.js";

/** Log lines written during a test, to assert on (and to check no secret is ever written). */
export class CapturedLog {
  readonly lines: string[] = [];
  readonly logger = createLogger((_level, line) => { this.lines.push(line); }, "debug");
}

/** Services wired to an embedded Azurite, as the functions get them in Azure (real adapters, real SDKs). */
export function testServices(azurite: EmbeddedAzurite, overrides: Record<string, string> = {}, clock?: Clock): { services: Services; log: CapturedLog } {
  const log = new CapturedLog();
  const settings = loadSettings({ AzureWebJobsStorage: azurite.connectionString, ...overrides });
  const services = createServices(settings, { logger: log.logger, ...(clock ? { clock } : {}) });
  return { services, log };
}

export function table(azurite: EmbeddedAzurite, name: string): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
}

export function queue(azurite: EmbeddedAzurite, name: string): QueueClient {
  return new QueueClient(azurite.connectionString, name);
}

/** Every message currently on a queue, decoded from base64 JSON, without removing them. */
export async function peekAll(azurite: EmbeddedAzurite, name: string): Promise<unknown[]> {
  const q = queue(azurite, name);
  if (!(await q.exists())) return [];
  const { peekedMessageItems } = await q.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => {
    const text = Buffer.from(m.messageText, "base64").toString("utf8");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return m.messageText;
    }
  });
}

export async function countEntities(azurite: EmbeddedAzurite, name: string): Promise<number> {
  const t = table(azurite, name);
  let n = 0;
  try {
    for await (const _ of t.listEntities()) n++;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
  return n;
}

export class ManualClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
