import { createGraphClientFactory, type GraphTransport } from "../../shared/adapters/graph/graphClientFactory.js";
import { GraphMailChannel } from "../../shared/adapters/graph/graphMailChannel.js";
import { GraphPlannerChannel } from "../../shared/adapters/graph/graphPlannerChannel.js";
import { TeamsWorkflowChannel } from "../../shared/adapters/teamsWorkflowChannel.js";
import { deliverTask, type DeliverTaskOutcome } from "../../shared/app/deliverTask.js";
import type { Clock } from "../../shared/app/ports.js";
import type { DeliveryStore, TaskChannels } from "../../shared/app/taskPorts.js";
import { loadSettings } from "../../shared/config.js";
import { createServices, type Services } from "../../shared/runtime.js";
import { taskDeps, type TaskDeps } from "../../shared/taskRuntime.js";
import type { EmbeddedAzurite } from "../../local/azurite.js";
import { CapturedLog } from "./storage.js";
import { MemoryReviews, RecordingQueue, type SentMessage } from "./taskWorld.js";

/**
 * Task use cases wired to an embedded Azurite and the Graph simulator with the real adapters, retries made instant,
 * a recording queue (messages also reach Azurite) to drive the `deliveries` queue by hand, and controls and findings
 * in memory (they are the control runner's tables; the task side only reads them through their ports).
 */
export interface TaskHarness {
  services: Services;
  deps: TaskDeps;
  queue: RecordingQueue;
  reviews: MemoryReviews;
  log: CapturedLog;
  /** Delivers every `deliveries` message sent since the last call (and those they send, not delayed), in order. */
  drain(): Promise<DeliverTaskOutcome[]>;
  /** Delayed retries left over by `drain`. */
  deferred: SentMessage[];
  deliver(message: unknown): Promise<DeliverTaskOutcome>;
}

export interface TaskHarnessOptions {
  simulatorUrl: string;
  clock: Clock;
  settings?: Record<string, string>;
  /** Wraps the wire under the Graph client (to interfere with a request). */
  transport?: GraphTransport;
  /** Wraps the Deliveries store (to crash at a chosen write). */
  wrapDeliveries?: (store: DeliveryStore) => DeliveryStore;
  /** Leave Planner and mail out (Graph not configured). */
  noGraph?: boolean;
}

export function taskHarness(azurite: EmbeddedAzurite, options: TaskHarnessOptions): TaskHarness {
  const log = new CapturedLog();
  const settings = loadSettings({ AzureWebJobsStorage: azurite.connectionString, BLINDWINDOW_GRAPH_BASE_URL: options.simulatorUrl, ...options.settings });
  const noWait = (): Promise<void> => Promise.resolve();
  const graph = createGraphClientFactory(settings, {
    maxAttempts: 2,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    sleep: noWait,
    ...(options.transport ? { transport: options.transport } : {}),
  });
  const taskChannels: TaskChannels = {
    planner: options.noGraph ? undefined : new GraphPlannerChannel(graph),
    mail: options.noGraph ? undefined : new GraphMailChannel(graph),
    teams: new TeamsWorkflowChannel({ maxAttempts: 3, backoffBaseMs: 1, sleep: noWait }),
  };
  const base = createServices(settings, { logger: log.logger, clock: options.clock, graph, taskChannels });
  const queue = new RecordingQueue(base.queue);
  const services: Services = { ...base, queue, ...(options.wrapDeliveries ? { deliveries: options.wrapDeliveries(base.deliveries) } : {}) };
  const reviews = new MemoryReviews();
  const deps: TaskDeps = { ...taskDeps(services, log.logger), controlRuns: reviews, findings: reviews };
  const deferred: SentMessage[] = [];
  const deliver = (message: unknown) => deliverTask(deps, message);
  return {
    services,
    deps,
    queue,
    reviews,
    log,
    deferred,
    deliver,
    async drain() {
      const outcomes: DeliverTaskOutcome[] = [];
      for (let round = 0; round < 20; round++) {
        const batch = queue.take("deliveries");
        if (batch.length === 0) return outcomes;
        for (const m of batch) {
          if (m.delaySeconds !== undefined) deferred.push(m);
          else outcomes.push(await deliver(m.message));
        }
      }
      throw new Error("deliveries kept coming");
    },
  };
}
