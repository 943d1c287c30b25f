/**
 * One round of the detectors' benchmark in a process of its own (test/bench/detections.ts runs several and reports
 * the medians). argv: JSON {quick}. Prints one JSON line: the round's figures.
 */
import { measureDetectionRound } from "./detections.js";

const args = JSON.parse(process.argv[2] ?? "{}") as { quick?: boolean };
const figures = await measureDetectionRound({ quick: args.quick === true });
process.stdout.write(`${JSON.stringify(figures)}\n`);
