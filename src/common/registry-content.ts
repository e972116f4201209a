import type { Readable } from 'node:stream';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A manifest as the read endpoints serve it, from local storage or an upstream. */
export interface ManifestContent {
  digest: string;
  mediaType: string;
  size: number;
  /** The exact bytes, present when the caller asked for them. */
  bytes?: Buffer;
  /** A `Warning` header value, set when cached content is served because revalidation failed. */
  warning?: string;
}

/** A blob ready to be streamed, whole or in one range. */
export interface BlobContent {
  /** Undefined when an upstream is still sending a blob whose length it did not announce. */
  size: number | undefined;
  /**
   * Opens the body. Resolves once it can be sent, and rejects when it fails before its first byte (a
   * missing file, an upstream transfer that broke early), so that the failure can still become an
   * error response instead of a cut-off body.
   */
  open(range?: ByteRange): Promise<Readable>;
}
