import type { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { QueueName, WorkQueue } from "../app/ports.js";
import { guardStorage, storageErrorInfo } from "./storageErrors.js";

/**
 * Messages are JSON, base64-encoded: the Functions queue trigger decodes base64 by default (host.json
 * `messageEncoding`), and base64 keeps any character of a notice id safe in the XML the queue service speaks.
 */
export function encodeQueueMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), "utf8").toString("base64");
}

/** Azure Storage queues as the work queue; a queue that does not exist yet is created on first use. */
export class StorageWorkQueue implements WorkQueue {
  private readonly clients = new Map<string, { client: QueueClient; ready?: Promise<unknown> }>();
  constructor(private readonly service: QueueServiceClient) {}

  async send(queue: QueueName | `${QueueName}-poison`, message: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
    const text = encodeQueueMessage(message);
    const delay = options.delaySeconds === undefined ? undefined : Math.min(7 * 86_400 - 1, Math.max(0, Math.ceil(options.delaySeconds)));
    const sendOptions = delay === undefined || delay === 0 ? undefined : { visibilityTimeout: delay };
    await guardStorage(`enqueue on ${queue}`, async () => {
      const entry = this.entry(queue);
      entry.ready ??= entry.client.createIfNotExists().catch((error: unknown) => {
        entry.ready = undefined;
        throw error;
      });
      await entry.ready;
      try {
        await entry.client.sendMessage(text, sendOptions);
      } catch (error) {
        if (storageErrorInfo(error).code !== "QueueNotFound") throw error;
        await entry.client.createIfNotExists();
        await entry.client.sendMessage(text, sendOptions);
      }
    });
  }

  private entry(queue: string): { client: QueueClient; ready?: Promise<unknown> } {
    let entry = this.clients.get(queue);
    if (!entry) {
      entry = { client: this.service.getQueueClient(queue) };
      this.clients.set(queue, entry);
    }
    return entry;
  }
}
