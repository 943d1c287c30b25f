import { describe, expect, it } from "vitest";
import { createLogger, redact } from "../../shared/adapters/logger.js";

describe("logger redaction", () => {
  it("never writes secret fields or secret-looking values", () => {
    const lines: string[] = [];
    const logger = createLogger((_l, line) => lines.push(line), "debug");
    logger.info("calling https://x/api/notices?code=abcDEF123 with Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln", {
      functionKey: "k-123",
      clientSecret: "s3cr3t",
      nested: { authorization: "Bearer zzz", connection: "AccountKey=Zm9vYmFy;EndpointSuffix=core" },
      noticeKey: "azure-monitor~ABC",
    });
    const text = lines.join("\n");
    for (const secret of ["abcDEF123", "eyJhbGciOiJSUzI1NiJ9", "k-123", "s3cr3t", "zzz", "Zm9vYmFy"]) expect(text).not.toContain(secret);
    expect(text).toContain("azure-monitor~ABC");
  });

  it("drops entries below the minimum level", () => {
    const lines: string[] = [];
    createLogger((_l, line) => lines.push(line), "warn").info("quiet");
    expect(lines).toEqual([]);
    expect(redact({ token: "t" })).toEqual({ token: "[redacted]" });
  });
});
