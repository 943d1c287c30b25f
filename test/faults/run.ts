/**
 * `npm run faults [-- --runs N] [-- --seed S] [-- --parallel P]`: the SIGKILL campaign of issue 9 (test/faults/killHarness.ts), printed
 * as it goes and summarised at the end; the figures also go to bench-results/faults.json. Exit code 1 when any run
 * differs from the fault-free run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { runKillCampaign } from "./killHarness.js";
import { repoRoot } from "../support/processes.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "100" }, seed: { type: "string", default: "20261127" }, parallel: { type: "string", default: "1" } } });
const runs = Number(values.runs);
const seed = Number(values.seed);
const parallel = Number(values.parallel);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
if (!Number.isInteger(parallel) || parallel < 1 || parallel > 8) throw new Error("--parallel must be an integer from 1 to 8");
const result = await runKillCampaign({ runs, seed, parallel, log: (line) => { process.stdout.write(`${line}\n`); } });
const dir = path.join(repoRoot, "bench-results");
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, "faults.json"), JSON.stringify({ date: new Date().toISOString(), node: process.version, seed, parallel, ...result }, null, 2));
process.stdout.write([
  "",
  `runs ${String(result.runs)} · kills ${String(result.kills)} (intake ${String(result.killsByPhase.intake)}, processing ${String(result.killsByPhase.processing)}, reviews ${String(result.killsByPhase.reviews)}, deliveries ${String(result.killsByPhase.deliveries)}, idle ${String(result.killsByPhase.idle)})`,
  `notices accepted ${String(result.noticesAccepted)} · lost ${String(result.noticesLost)} · Planner tasks created twice ${String(result.plannerDuplicates)} · Teams/e-mail messages beyond the fault-free run ${String(result.extraMessages)} (informational) · poison ${String(result.poisonMessages)}`,
  `runs differing from the fault-free run: ${String(result.failedRuns.length)} · ${result.seconds.toFixed(0)} s`,
  "",
].join("\n"));
process.exitCode = result.failedRuns.length === 0 ? 0 : 1;
