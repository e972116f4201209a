import { RangeNotSatisfiableError, UploadInvalidError } from '../common/domain-errors.js';
import type { ByteRange } from '../storage/blob-storage.service.js';

/**
 * Parses a `Range` request header for a blob of `size` bytes. Returns undefined when the whole blob
 * should be sent: no header, a unit other than bytes, or several ranges (RFC 9110 lets a server ignore
 * those). Throws RangeNotSatisfiableError when no requested byte exists.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) {
    return undefined;
  }

  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());

  if (!match || (match[1] === '' && match[2] === '')) {
    return undefined;
  }

  if (match[1] === '') {
    const suffix = Number(match[2]);

    if (suffix === 0) {
      throw new RangeNotSatisfiableError(size, header);
    }

    if (size === 0) {
      // RFC 9110 section 14.1.1: a non-zero suffix range of an empty representation is satisfiable
      // and selects the whole, empty, body.
      return undefined;
    }

    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }

  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);

  if (start >= size || (match[2] !== '' && Number(match[2]) < start)) {
    throw new RangeNotSatisfiableError(size, header);
  }

  return { start, end };
}

/**
 * Parses the `Content-Range` of an upload chunk, `<start>-<end>` inclusive as the distribution spec
 * writes it (a `bytes ` prefix is accepted too).
 */
export function parseContentRange(header: string): ByteRange {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());

  if (!match) {
    throw new UploadInvalidError(`Content-Range "${header}" is not of the form <start>-<end>`);
  }

  const range = { start: Number(match[1]), end: Number(match[2]) };

  if (range.end < range.start) {
    throw new UploadInvalidError(`Content-Range "${header}" ends before it starts`);
  }

  return range;
}
