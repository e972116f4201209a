import type { Readable } from 'node:stream';

import type { LayerFile } from './inventory.js';

/** The outcome of reading a stream with a byte limit: all of its bytes, or how many were seen before the limit. */
export type BoundedRead = { complete: true; data: Buffer } | { complete: false; bytesRead: number };

/** The answer of a chunk handler: `stop` ends the reading early, `more` continues it. */
export type ChunkVerdict = 'stop' | 'more';

/**
 * Passes each chunk of `stream` to `onChunk` until the stream ends or the handler returns `stop`.
 * Resolves to true when the stream ended and false when the handler stopped it. A stopped stream is
 * left paused, neither destroyed nor drained, because a layer walker reads the rest of a tar entry
 * before it can reach the next one. Rejects when the stream fails or closes before its end.
 */
export function readChunks(stream: Readable, onChunk: (chunk: Buffer) => ChunkVerdict): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };

    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;

      if (onChunk(buffer) === 'stop') {
        stream.pause();
        cleanup();
        resolve(false);
      }
    };

    const onEnd = (): void => {
      cleanup();
      resolve(true);
    };

    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };

    const onClose = (): void => {
      cleanup();
      reject(new Error('the stream closed before its end'));
    };

    if (stream.readableEnded) {
      reject(new Error('the stream was already read to its end'));

      return;
    }

    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/**
 * Reads `stream` into one Buffer of at most `limit` bytes. When the stream contains more, the bytes read
 * so far are dropped, the stream is left paused (see `readChunks`) and the result gives how many
 * bytes were seen. It never keeps more than `limit` bytes plus one chunk.
 */
export async function readBounded(stream: Readable, limit: number): Promise<BoundedRead> {
  const chunks: Buffer[] = [];
  let bytesRead = 0;

  const ended = await readChunks(stream, (chunk) => {
    bytesRead += chunk.length;

    if (bytesRead > limit) {
      chunks.length = 0;

      return 'stop';
    }

    chunks.push(chunk);

    return 'more';
  });

  if (!ended) {
    return { complete: false, bytesRead };
  }

  return { complete: true, data: Buffer.concat(chunks, bytesRead) };
}

/** A file's bytes, or the reason they could not be read within the limit. */
export type LayerFileRead = { data: Buffer } | { warning: string };

/**
 * Reads a layer file into memory when it fits in `maxBytes`. A file whose declared or actual size is
 * over the limit, or whose stream fails, yields a warning that names its path, never an exception.
 */
export async function readLayerFile(file: LayerFile, maxBytes: number): Promise<LayerFileRead> {
  if (file.size > maxBytes) {
    return { warning: overLimitWarning(file.path, file.size, maxBytes) };
  }

  try {
    const result = await readBounded(file.content, maxBytes);

    if (!result.complete) {
      return { warning: overLimitWarning(file.path, result.bytesRead, maxBytes) };
    }

    return { data: result.data };
  } catch (error) {
    return { warning: `${file.path}: failed to read the file: ${errorMessage(error)}` };
  }
}

/** A text file's content, or the reason it could not be read. */
export type LayerTextRead = { text: string } | { warning: string };

/**
 * Reads a layer file as UTF-8 text within `maxBytes`. A file that contains a NUL byte is reported
 * as binary instead of decoded, because no text format read here allows one. A leading byte order
 * mark is removed.
 */
export async function readLayerText(file: LayerFile, maxBytes: number): Promise<LayerTextRead> {
  const read = await readLayerFile(file, maxBytes);

  if ('warning' in read) {
    return read;
  }

  if (read.data.includes(0)) {
    return { warning: `${file.path}: the file contains binary data and was not read` };
  }

  return { text: read.data.toString('utf8').replace(/^\uFEFF/, '') };
}

/** Returns the warning for a file that is larger than the memory limit of a collector. */
export function overLimitWarning(path: string, size: number, maxBytes: number): string {
  return `${path}: the file has ${size} bytes, more than the limit of ${maxBytes} bytes, and was not read`;
}

/** Returns the message of a caught value, which need not be an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
