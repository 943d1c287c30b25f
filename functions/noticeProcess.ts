import { app, type InvocationContext } from "@azure/functions";
import { invocationLogger } from "../shared/adapters/logger.js";
import { processNoticeMessage, type ProcessNoticeOutcome } from "../shared/app/processNotice.js";
import { getServices, type Services } from "../shared/runtime.js";

/** Queue trigger on `notices`: one stored notice revision to process. */
export async function noticeProcess(message: unknown, context: InvocationContext, services: Services = getServices()): Promise<ProcessNoticeOutcome> {
  const logger = services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
  return processNoticeMessage({ ...services, logger }, message);
}

app.storageQueue("noticeProcess", {
  queueName: "notices",
  connection: "AzureWebJobsStorage",
  handler: async (message, context) => {
    await noticeProcess(message, context);
  },
});
