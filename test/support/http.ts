import functions, { type HttpRequest as HttpRequestType, type HttpResponseInit, type InvocationContext as InvocationContextType } from "@azure/functions";
import { expect } from "vitest";

const { HttpRequest, InvocationContext } = functions;

/** A real HttpRequest, as the Functions worker builds it. */
export function jsonRequest(url: string, body: unknown, headers: Record<string, string> = {}): HttpRequestType {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new HttpRequest({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...headers },
    body: { string: text },
  });
}

export function getRequest(url: string, headers: Record<string, string> = {}): HttpRequestType {
  return new HttpRequest({ method: "GET", url, headers });
}

export function context(functionName = "test"): InvocationContextType {
  return new InvocationContext({ invocationId: "test-invocation", functionName, logHandler: () => undefined });
}

export function bodyJson(response: HttpResponseInit): Record<string, unknown> {
  expect(typeof response.body).toBe("string");
  return JSON.parse(response.body as string) as Record<string, unknown>;
}

export function header(response: HttpResponseInit, name: string): string | undefined {
  const h = response.headers as Record<string, string> | undefined;
  return h?.[name.toLowerCase()];
}

/** Asserts an RFC 9457 problem answer with the given status, returning its body. */
export function expectProblem(response: HttpResponseInit, status: number): { title: string; errors?: string[]; status: number } {
  expect(response.status).toBe(status);
  expect(header(response, "content-type")).toBe("application/problem+json");
  const body = bodyJson(response) as { title: string; errors?: string[]; status: number };
  expect(body.status).toBe(status);
  return body;
}
