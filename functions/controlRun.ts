import { app, type InvocationContext } from "@azure/functions";
import { ControlMessageSchema } from "../shared/app/messages.js";
import { runControlTurn, type TurnOutcome } from "../shared/app/runControl.js";
import { controlRunDeps } from "../shared/controlRuntime.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

export type ControlRunOutcome = TurnOutcome | { kind: "poisoned"; problems: string[] };

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
