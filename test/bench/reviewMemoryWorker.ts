/**
 * One review in a process of its own, so its peak RSS is its own: `stream` is the review pipeline (slices, detectors,
 * checkpoints), `collect` reads every record of the range into memory first and analyses afterwards (what a simple
 * script does). argv: JSON {url, tenantId, from, to, mode}. Prints one JSON line {records, maxRssMiB, ms}.
 */
import { performance } from "node:perf_hooks";
import { createGraphClientFactory } from "../../shared/adapters/graph/graphClientFactory.js";
import { GraphReviewSource } from "../../shared/adapters/graph/graphReviewSource.js";
import { ThrottleBudget } from "../../shared/adapters/graph/throttleBudget.js";
import { advancePass, startPass, DEFAULT_PASS_OPTIONS } from "../../shared/app/reviewPass.js";
import { loadSettings } from "../../shared/config.js";
import { byTimeThenId, SIGN_IN_SELECT, SignInDetectors, toSignInRecord } from "../../shared/domain/detections/index.js";

interface Args { url: string; tenantId: string; from: string; to: string; mode: "stream" | "collect" }
const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const graph = createGraphClientFactory(loadSettings({ BLINDWINDOW_GRAPH_BASE_URL: args.url }), { budget: new ThrottleBudget({ timeScale: 1e9 }) });
const source = new GraphReviewSource(graph);
const started = performance.now();
let records: number;
if (args.mode === "stream") {
  const cp = startPass({ kind: "signins", tenantId: args.tenantId, windowId: "bench", windowStart: args.from, windowEnd: args.to, retentionDays: 30, detect: true, preserve: false, privilegedUserIds: [] }, new Date(args.to), { baselineDays: 0 });
  const result = await advancePass({ source, stopwatch: () => performance.now() }, cp, {
    options: { ...DEFAULT_PASS_OPTIONS, baselineDays: 0 },
    stopAtMs: Number.POSITIVE_INFINITY,
    onCheckpoint: () => Promise.resolve(true),
  });
  records = Object.values(result.checkpoint.recordsRead).reduce((a, b) => a + b, 0);
} else {
  const all = [];
  for (const stream of ["signIns:v1.0", "signIns:beta"] as const) {
    const select = stream === "signIns:v1.0" ? SIGN_IN_SELECT["v1.0"] : SIGN_IN_SELECT.beta;
    for await (const page of source.pages(args.tenantId, stream, new Date(args.from), new Date(args.to), select)) all.push(...page.items);
  }
  const parsed = all.map((r) => toSignInRecord(r, "interactiveUser")).filter((r) => r !== undefined);
  parsed.sort(byTimeThenId);
  const detectors = new SignInDetectors(DEFAULT_PASS_OPTIONS.thresholds, []);
  for (const r of parsed) detectors.observe(r);
  detectors.finish();
  records = all.length;
}
process.stdout.write(`${JSON.stringify({ records, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), ms: Math.round(performance.now() - started) })}\n`);
