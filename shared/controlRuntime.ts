import { performance } from "node:perf_hooks";
import type { ControlRunDeps } from "./app/runControl.js";
import { controlFinishedHook } from "./app/taskHooks.js";
import type { Services } from "./runtime.js";

/**
 * The control runner's dependencies from the composition root: the `controlRun` function, the tests and the review
 * benchmark build them here (importing functions/ registers its triggers, which only the host may see first).
 */
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
