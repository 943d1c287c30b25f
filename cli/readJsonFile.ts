import { readFile } from "node:fs/promises";
import { CliError } from "./program.js";

/** Reads a JSON file given on the command line; unreadable or invalid files are one-line CLI errors. */
export async function readJsonFile(file: string): Promise<{ json: unknown; raw: string }> {
  const raw = await readFile(file, "utf8").catch((error: unknown) => {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  });
  try {
    return { json: JSON.parse(raw.replace(/^\uFEFF/, "")) as unknown, raw };
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message.split("\n")[0] ?? ""}`);
  }
}
