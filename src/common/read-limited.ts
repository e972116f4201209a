import type { Readable } from 'node:stream';

/** Raised by readLimited when a stream carries more bytes than its limit. */
export class StreamTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = 'StreamTooLargeError';
  }
}

/**
 * Reads a small stream, such as a manifest, whole. Past `limit` bytes it rejects with
 * StreamTooLargeError and lets the rest drain unread instead of destroying the stream, so an HTTP
 * request can still receive its error response; a caller that wants the transfer stopped destroys it.
 */
export function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;

    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;

      if (received > limit && !tooLarge) {
        tooLarge = true;
        chunks.length = 0;
        reject(new StreamTooLargeError(limit));
      }

      if (!tooLarge) {
        chunks.push(chunk);
      }
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('stream closed before its end')));
  });
}
