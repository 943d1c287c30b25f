import { app, type InvocationContext } from "@azure/functions";
import { performance } from "node:perf_hooks";
import { ControlMessageSchema } from "../shared/app/messages.js";
import { runControlTurn, type ControlRunDeps, type TurnOutcome } from "../shared/app/runControl.js";
import { controlFinishedHook } from "../shared/app/taskHooks.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

export type ControlRunOutcome = TurnOutcome | { kind: "poisoned"; problems: string[] };

/** The control runner's dependencies from the composition root (also used by the CLI and tests). */
export function controlRunDeps(services: Services, logger: ControlRunDeps["logger"]): ControlRunDeps {
  return {
    controlRuns: services.controlRuns,
    findings: services.findings,
    ledger: services.ledger,
    tenants: services.tenants,
    reviewSource: services.reviewSource,
    graphNotConfigured: services.graphNotConfigured,
    evidence: services.evidence,
    spool: services.reviewSpool,
    queue: services.queue,
    heartbeats: services.heartbeats,
    clock: services.clock,
    logger,
    stopwatch: () => performance.now(),
    options: services.review,
    // Tasks follow their window's controls (findings summary, evidence location) as each one finishes.
    onFinished: controlFinishedHook({ ...services, logger }, () => services.clock.now()),
    turnSlots: services.turnSlots,
  };
}

/**
 * Queue trigger on `controls`: one turn of the control runner (the most urgent unfinished control, within the time
 * budget). An undecodable message goes to `controls-poison` with its reason; storage or Graph failures throw, so
 * the queue retries the turn (the checkpoint keeps the work done).
 */
export async function controlRun(message: unknown, context: InvocationContext, services: Services = getServices()): Promise<ControlRunOutcome> {
  const logger = loggerFor(services, context);
  const parsed = ControlMessageSchema.safeParse(message);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    // JSON.stringify gives undefined for undefined (and functions), whatever its declared type says.
    const text = JSON.stringify(message) as string | undefined;
    const head = (text ?? String(message)).slice(0, 2048);
    await services.queue.send("controls-poison", { reason: "invalid control message", problems: problems.slice(0, 10), head });
    logger.warn("message moved to controls-poison: invalid control message", { problems });
    return { kind: "poisoned", problems };
  }
  return runControlTurn(controlRunDeps(services, logger), context.invocationId, parsed.data);
}

app.storageQueue("controlRun", {
  queueName: "controls",
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    await controlRun(message, context);
  },
});
