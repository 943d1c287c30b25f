import { app, type InvocationContext } from "@azure/functions";
import { processNoticeMessage, type ProcessNoticeOutcome } from "../shared/app/processNotice.js";
import { windowsChangedHook } from "../shared/app/taskHooks.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

/** Queue trigger on `notices`: one stored notice revision to process. */
export async function noticeProcess(message: unknown, context: InvocationContext, services: Services = getServices()): Promise<ProcessNoticeOutcome> {
  const logger = loggerFor(services, context);
  // Windows rewritten → their tasks follow (created, updated, or noted as gone).
  return processNoticeMessage({ ...services, logger, onWindowsChanged: windowsChangedHook({ ...services, logger }) }, message);
}

app.storageQueue("noticeProcess", {
  queueName: "notices",
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    await noticeProcess(message, context);
  },
});
