import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { recordNotice } from "../app/recordNotice.js";
import type { Notice } from "../domain/notice.js";
import type { ParseResult } from "../domain/parseResult.js";
import { ValidationError } from "../errors.js";
import type { Services } from "../runtime.js";
import { answer } from "./answer.js";
import { jsonResponse } from "./problem.js";
import { readJsonBody } from "./readJsonBody.js";

export type NoticeNormaliser = (json: unknown, now: Date) => ParseResult<Notice>;

/**
 * The intake pipeline shared by both notice routes, in the order octokit/webhooks.js taught: verify, check content
 * type, parse, validate, hand off, answer. 202 only after the revision is stored and enqueued; any failure after
 * validation answers 503 with Retry-After (never 500: an action group does not retry a 500 and the notice is lost).
 */
export async function handleNoticeIntake(
  request: HttpRequest,
  context: InvocationContext,
  services: Services,
  normalise: NoticeNormaliser,
): Promise<HttpResponseInit> {
  return answer(context, services, async (logger) => {
    if (services.verifyBearer) await services.verifyBearer(request);
    const { json, raw } = await readJsonBody(request);
    const parsed = normalise(json, services.clock.now());
    if (!parsed.ok) throw new ValidationError("The notice is not valid", parsed.errors, "invalid-notice", 400);
    const result = await recordNotice({ notices: services.notices, queue: services.queue, clock: services.clock, logger }, parsed.value, raw);
    return jsonResponse(202, result);
  });
}
