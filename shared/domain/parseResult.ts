import type { z } from "zod";

/** Expected failures are values (STYLE.md habit 4): a parse either yields a value or names every problem. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** One line per failing path, `path: message`, in the order zod found them. */
export function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
}
