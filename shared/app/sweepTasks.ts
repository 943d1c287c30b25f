import { escalateTasks, type EscalateTasksDeps } from "./escalateTasks.js";
import { reconcileTasks, type RefreshTaskDeps } from "./refreshTask.js";
import { watchComponents, type WatchdogDeps } from "./watchdog.js";

export type SweepTasksDeps = RefreshTaskDeps & EscalateTasksDeps & WatchdogDeps;

export interface SweepTasksResult {
  tasksCaughtUp: number;
  overdue: number;
  warnings: number;
  deliveriesRedriven: number;
  staleComponents: string[];
}

/**
 * The sweeper's task work: catch tasks up with the ledger, escalate overdue tasks and warn before review deadlines,
 * re-enqueue deliveries whose message was lost, and watch the other timers' heartbeats (the watchdog timer watches
 * the sweeper in turn).
 */
export async function sweepTasks(deps: SweepTasksDeps): Promise<SweepTasksResult> {
  const now = deps.clock.now();
  const reconciled = await reconcileTasks(deps, now);
  const escalated = await escalateTasks(deps, now);
  const watched = await watchComponents(deps);
  return { tasksCaughtUp: reconciled.refreshed, overdue: escalated.overdue, warnings: escalated.warnings, deliveriesRedriven: escalated.redelivered, staleComponents: watched.stale };
}
