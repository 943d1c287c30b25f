import { readFileSync } from "node:fs";
import { z } from "zod";

/** The parts of host.json the local host honours, so queue and timeout behaviour match Azure. */
const TimeSpan = z.string().regex(/^\d{2}:\d{2}:\d{2}(\.\d+)?$/).transform((s) => {
  const [h, m, sec] = s.split(":").map(Number);
  return ((h ?? 0) * 3600 + (m ?? 0) * 60 + (sec ?? 0)) * 1000;
});

export const HostJsonSchema = z.looseObject({
  version: z.literal("2.0"),
  functionTimeout: TimeSpan.optional(),
  extensions: z.looseObject({
    queues: z.looseObject({
      maxPollingInterval: TimeSpan.default(60_000),
      visibilityTimeout: TimeSpan.default(0),
      batchSize: z.number().int().min(1).max(32).default(16),
      maxDequeueCount: z.number().int().min(1).default(5),
      messageEncoding: z.enum(["base64", "none"]).default("base64"),
    }),
    http: z.looseObject({ routePrefix: z.string().default("api") }).default({ routePrefix: "api" }),
  }),
});
export type HostJson = z.infer<typeof HostJsonSchema>;

export function readHostJson(path: string): HostJson {
  return HostJsonSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}
