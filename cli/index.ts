#!/usr/bin/env node
/**
 * The operator's command line (`npm run -s cli -- <command>`). Each command lives in cli/commands/ and is listed here.
 */
import { runCli } from "./program.js";
import { registerIngest } from "./commands/ingest.js";

const code = await runCli(process.argv.slice(2), [registerIngest]);
process.exitCode = code;
