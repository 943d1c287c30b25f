import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
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

export function readHostJson(file: string): HostJson {
  return HostJsonSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

/**
 * The project root: the nearest ancestor of `from` with a package.json. The same code runs from the sources (tsx:
 * local/) and compiled (dist/local/), so paths to host.json or local.settings.json cannot be fixed relative paths.
 */
export function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
