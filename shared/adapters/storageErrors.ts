import { StorageUnavailableError } from "../errors.js";

/** Status code (RestError of the Azure SDKs, matched by shape) and and service error code of a storage SDK error (data-tables puts the code in `details.errorCode`). */
export function storageErrorInfo(error: unknown): { status: number | undefined; code: string | undefined } {
  if (typeof error === "object" && error !== null && "statusCode" in error) {
    const e = error as { statusCode?: number; code?: string; details?: { errorCode?: string } };
    return { status: e.statusCode, code: e.details?.errorCode ?? e.code };
  }
  return { status: undefined, code: undefined };
}

export function isStatus(error: unknown, status: number): boolean {
  return storageErrorInfo(error).status === status;
}

/**
 * Runs a storage call and turns outages (no answer, 5xx, 408, 429) into StorageUnavailableError, so the edge
 * answers 503 and the sender retries. Other errors (4xx from a bug) stay as they are.
 */
export async function guardStorage<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { status } = storageErrorInfo(error);
    if (status === undefined || status >= 500 || status === 408 || status === 429) {
      throw new StorageUnavailableError(operation, error);
    }
    throw error;
  }
}
