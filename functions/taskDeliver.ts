import { app, type InvocationContext } from "@azure/functions";
import { deliverTask, type DeliverTaskOutcome } from "../shared/app/deliverTask.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";
import { taskDeps } from "../shared/taskRuntime.js";

/** Queue trigger on `deliveries`: one task's content to one channel (Planner, Teams, e-mail) or one escalation. */
export async function taskDeliver(message: unknown, context: InvocationContext, services: Services = getServices()): Promise<DeliverTaskOutcome> {
  return deliverTask(taskDeps(services, loggerFor(services, context)), message);
}

app.storageQueue("taskDeliver", {
  queueName: "deliveries",
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    await taskDeliver(message, context);
  },
});
