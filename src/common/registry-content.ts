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
  open(range?: ByteRange): Readable;
}
