/**
 * Recently read small blobs, such as manifests, kept in memory up to a total size, least recently used
 * first out. Blobs are content-addressed, so a cached copy never goes stale: it only leaves when the
 * cache needs room or the blob is removed.
 */
export class ContentCache {
  /** Entries in order of use, least recent first: a Map iterates in insertion order. */
  private readonly entries = new Map<string, Buffer>();
  private totalBytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get size(): number {
    return this.totalBytes;
  }

  get(key: string): Buffer | undefined {
    const bytes = this.entries.get(key);

    if (bytes !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, bytes);
    }

    return bytes;
  }

  /** Keeps `bytes` under `key`, dropping the least recently used entries to make room. */
  set(key: string, bytes: Buffer): void {
    if (bytes.length > this.maxBytes) {
      return;
    }

    this.delete(key);

    for (const [oldest, oldBytes] of this.entries) {
      if (this.totalBytes + bytes.length <= this.maxBytes) {
        break;
      }

      this.entries.delete(oldest);
      this.totalBytes -= oldBytes.length;
    }

    this.entries.set(key, bytes);
    this.totalBytes += bytes.length;
  }

  delete(key: string): void {
    const bytes = this.entries.get(key);

    if (bytes !== undefined) {
      this.entries.delete(key);
      this.totalBytes -= bytes.length;
    }
  }
}
