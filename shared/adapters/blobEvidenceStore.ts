import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { promisify } from "node:util";
import { createGunzip, gzip } from "node:zlib";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { EvidenceBlocksMissingError, EvidenceConflictError, type EvidenceStore } from "../app/evidencePorts.js";
import { EvidenceManifestSchema, isEvidenceBlockId, isEvidencePath, sameEvidence, type EvidenceManifest } from "../domain/evidencePath.js";
import { NotFoundError, StorageUnavailableError } from "../errors.js";
import { LazyContainer } from "./blobContainers.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus, storageErrorInfo } from "./storageErrors.js";

const gzipAsync = promisify(gzip);

/**
 * The stored object *is* a gzip file (`.jsonl.gz`), so it is labelled `application/gzip` and carries no
 * Content-Encoding: with `Content-Encoding: gzip` browsers and some tools would inflate it on download, and the
 * bytes a person hashes would no longer be the bytes whose SHA-256 the manifest records.
 */
const EVIDENCE_CONTENT_TYPE = "application/gzip";
const MANIFEST_CONTENT_TYPE = "application/json";

/** Azure limits (https://learn.microsoft.com/rest/api/storageservices/put-block-list, setting-and-retrieving-properties-and-metadata-for-blob-resources). */
const MAX_COMMITTED_BLOCKS = 50_000;
const MAX_METADATA_BYTES = 8 * 1024;
const METADATA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;
const SAFE_PREFIX = /^[A-Za-z0-9._/-]*$/;

type CommitOutcome = { kind: "created" | "exists"; etag: string | undefined } | { kind: "missing" } | { kind: "conflict"; detail: string };

function checkPath(path: string): void {
  if (!isEvidencePath(path)) throw new RangeError(`Not an evidence path: ${JSON.stringify(path.slice(0, 80))}`);
}

function checkLines(lines: readonly string[]): void {
  lines.forEach((line, i) => {
    if (line.length === 0 || line.includes("\n") || line.includes("\r")) {
      throw new RangeError(`Evidence line ${String(i)} is empty or contains a line break; each record must be one line of JSON text`);
    }
  });
}

function checkBlockList(blockIds: readonly string[]): void {
  if (blockIds.length === 0) throw new RangeError("An evidence blob needs at least one block");
  if (blockIds.length > MAX_COMMITTED_BLOCKS) throw new RangeError(`An evidence blob holds at most ${String(MAX_COMMITTED_BLOCKS)} blocks`);
  const bad = blockIds.find((id) => !isEvidenceBlockId(id));
  if (bad !== undefined) throw new RangeError(`Not an evidence block id: ${JSON.stringify(bad.slice(0, 80))}`);
  // Azure would accept a block twice in one list; for evidence that is a page preserved twice.
  if (new Set(blockIds).size !== blockIds.length) throw new RangeError("A block id appears twice in the block list");
}

function checkMetadata(metadata: Record<string, string>): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name)) throw new RangeError(`Blob metadata names must be C# identifiers: ${JSON.stringify(name.slice(0, 80))}`);
    if (!METADATA_VALUE.test(value)) throw new RangeError(`Blob metadata values must be printable ASCII (${name})`);
    bytes += name.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw new RangeError("Blob metadata is larger than 8 KiB");
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** The committed block list of a blob, or undefined when the blob (or its container) does not exist. */
async function committedBlocks(blob: BlockBlobClient): Promise<{ names: string[]; sizes: Map<string, number>; etag: string | undefined } | undefined> {
  try {
    const list = await blob.getBlockList("committed");
    const blocks = list.committedBlocks ?? [];
    return { names: blocks.map((b) => b.name), sizes: new Map(blocks.map((b) => [b.name, b.size])), etag: list.etag };
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** A blob's whole content, or undefined when it does not exist. For manifests (small). */
async function downloadSmall(blob: BlockBlobClient): Promise<Buffer | undefined> {
  try {
    return await blob.downloadToBuffer(0, undefined, { maxRetryRequestsPerBlock: 3 });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

function parseManifest(body: Buffer): EvidenceManifest | undefined {
  try {
    const parsed = EvidenceManifestSchema.safeParse(JSON.parse(body.toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lines of a stream of concatenated gzip members (Node's gunzip reads every member, as RFC 1952 allows). A failure
 * of the download becomes StorageUnavailableError; a failure to inflate (corrupt evidence) stays a zlib error.
 */
async function* gunzipLines(source: NodeJS.ReadableStream, operation: string): AsyncGenerator<string> {
  const gunzip = createGunzip();
  source.on("error", (error: unknown) => gunzip.destroy(new StorageUnavailableError(operation, error)));
  source.pipe(gunzip);
  const decoder = new StringDecoder("utf8");
  let rest = "";
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const parts = (rest + decoder.write(chunk)).split("\n");
      rest = parts.pop() ?? "";
      yield* parts;
    }
    rest += decoder.end();
    if (rest.length > 0) yield rest;
  } finally {
    // The reader may stop early: stop downloading too.
    if (source instanceof Readable) source.destroy();
  }
}

/**
 * Preserved evidence in Blob Storage (../app/evidencePorts.ts has the exactly-once protocol). Every write is
 * create-only (If-None-Match: *), so it also works under the container's time-based immutability policy
 * (infra/app/storage.bicep), which forbids overwriting and deleting but not creating blobs. The container is created
 * on first write; reads never create it (a missing container holds nothing).
 */
export class BlobEvidenceStore implements EvidenceStore {
  private readonly lazy: LazyContainer;

  constructor(account: StorageAccount, containerName: string) {
    this.lazy = new LazyContainer(account, containerName);
  }

  private get container(): ContainerClient {
    return this.lazy.container;
  }

  async stageBlock(blobPath: string, blockId: string, lines: readonly string[]): Promise<{ records: number; bytes: number }> {
    checkPath(blobPath);
    if (!isEvidenceBlockId(blockId)) throw new RangeError(`Not an evidence block id: ${JSON.stringify(blockId.slice(0, 80))}`);
    checkLines(lines);
    const body = await gzipAsync(Buffer.from(lines.length === 0 ? "" : `${lines.join("\n")}\n`, "utf8"));
    // Content-MD5 makes the service refuse a block damaged on the way (https://learn.microsoft.com/rest/api/storageservices/put-block).
    const md5 = createHash("md5").update(body).digest();
    const blob = this.container.getBlockBlobClient(blobPath);
    const outcome = await guardStorage("stage evidence block", () =>
      this.lazy.write(async (): Promise<{ bytes: number } | undefined> => {
        try {
          await blob.stageBlock(blockId, body, body.length, { transactionalContentMD5: md5 });
          return { bytes: body.length };
        } catch (error) {
          // Under an immutability policy a committed blob refuses new blocks (409). A worker that resumes after
          // committing but before its checkpoint stages pages of a committed blob again: that block is there already.
          if (!isStatus(error, 409)) throw error;
          const size = (await committedBlocks(blob))?.sizes.get(blockId);
          return size === undefined ? undefined : { bytes: size };
        }
      }),
    );
    if (!outcome) throw new EvidenceConflictError(blobPath, "it is committed without this block");
    return { records: lines.length, bytes: outcome.bytes };
  }

  async commitBlob(blobPath: string, blockIds: readonly string[], metadata: Record<string, string>): Promise<{ created: boolean; bytes: number; sha256: string }> {
    checkPath(blobPath);
    checkBlockList(blockIds);
    checkMetadata(metadata);
    const ids = [...blockIds];
    const blob = this.container.getBlockBlobClient(blobPath);
    const outcome = await guardStorage("commit evidence blob", () =>
      this.lazy.write(async (): Promise<CommitOutcome> => {
        try {
          const response = await blob.commitBlockList(ids, {
            conditions: { ifNoneMatch: "*" },
            metadata,
            blobHTTPHeaders: { blobContentType: EVIDENCE_CONTENT_TYPE },
          });
          return { kind: "created", etag: response.etag };
        } catch (error) {
          // 409 BlobAlreadyExists (412 from some emulators) when the blob exists; 400 InvalidBlockList when a block
          // is not staged. Either way the committed block list decides what happened.
          const { status, code } = storageErrorInfo(error);
          if (status !== 409 && status !== 412 && !(status === 400 && code === "InvalidBlockList")) throw error;
          // A blob that only has uncommitted blocks answers Get Block List with an empty committed list.
          const committed = await committedBlocks(blob);
          if (status === 400 && (!committed || committed.names.length === 0)) return { kind: "missing" };
          if (!committed) throw error;
          if (sameList(committed.names, ids)) return { kind: "exists", etag: committed.etag };
          return { kind: "conflict", detail: `its committed block list (${String(committed.names.length)} blocks) is not the one given (${String(ids.length)} blocks)` };
        }
      }),
    );
    if (outcome.kind === "missing") throw new EvidenceBlocksMissingError(blobPath);
    if (outcome.kind === "conflict") throw new EvidenceConflictError(blobPath, outcome.detail);
    const digest = await guardStorage("read back evidence blob", () => this.digest(blob, outcome.etag));
    return { created: outcome.kind === "created", ...digest };
  }

  async writeManifest(manifestPath: string, manifest: EvidenceManifest): Promise<{ created: boolean }> {
    checkPath(manifestPath);
    const parsed = EvidenceManifestSchema.parse(manifest);
    const body = Buffer.from(`${JSON.stringify(parsed, null, 2)}\n`, "utf8");
    const blob = this.container.getBlockBlobClient(manifestPath);
    const outcome = await guardStorage("write evidence manifest", () =>
      this.lazy.write(async (): Promise<{ created: true } | { created: false; existing: Buffer | undefined }> => {
        try {
          await blob.upload(body, body.length, { conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: MANIFEST_CONTENT_TYPE } });
          return { created: true };
        } catch (error) {
          if (!isStatus(error, 409) && !isStatus(error, 412)) throw error;
          return { created: false, existing: await downloadSmall(blob) };
        }
      }),
    );
    if (outcome.created) return { created: true };
    const existing = outcome.existing && parseManifest(outcome.existing);
    if (!existing) throw new EvidenceConflictError(manifestPath, "the stored manifest cannot be read as one");
    if (!sameEvidence(existing, parsed)) throw new EvidenceConflictError(manifestPath, "the stored manifest describes other evidence");
    return { created: false };
  }

  async readManifest(manifestPath: string): Promise<EvidenceManifest | undefined> {
    checkPath(manifestPath);
    const blob = this.container.getBlockBlobClient(manifestPath);
    const body = await guardStorage("read evidence manifest", () => downloadSmall(blob));
    if (body === undefined) return undefined;
    return EvidenceManifestSchema.parse(JSON.parse(body.toString("utf8")));
  }

  async *readLines(blobPath: string): AsyncIterable<string> {
    checkPath(blobPath);
    const blob = this.container.getBlockBlobClient(blobPath);
    const response = await guardStorage("read evidence", async () => {
      try {
        return await blob.download(0, undefined, { maxRetryRequests: 3 });
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
    const body = response?.readableStreamBody;
    if (!body) throw new NotFoundError(`No evidence at ${blobPath}`);
    yield* gunzipLines(body, "read evidence");
  }

  async *list(prefix: string): AsyncIterable<{ path: string; bytes: number }> {
    if (!SAFE_PREFIX.test(prefix)) throw new RangeError(`Not an evidence path prefix: ${JSON.stringify(prefix.slice(0, 80))}`);
    const pages = this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1000 });
    for (;;) {
      const next = await guardStorage("list evidence", async () => {
        try {
          return await pages.next();
        } catch (error) {
          if (storageErrorInfo(error).code === "ContainerNotFound") return undefined;
          throw error;
        }
      });
      if (!next || next.done === true) return;
      for (const item of next.value.segment.blobItems) yield { path: item.name, bytes: item.properties.contentLength ?? 0 };
    }
  }

  /** SHA-256 and size of what is stored, streamed back (a check of what the service kept, not of what we sent). */
  private async digest(blob: BlockBlobClient, etag: string | undefined): Promise<{ bytes: number; sha256: string }> {
    const response = await blob.download(0, undefined, { conditions: etag === undefined ? {} : { ifMatch: etag }, maxRetryRequests: 3 });
    const body = response.readableStreamBody;
    if (!body) throw new Error("The blob download has no body");
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { bytes, sha256: hash.digest("hex") };
  }
}
