import type { FastifyRequest } from 'fastify';

import { PaginationInvalidError, SizeMismatchError } from '../common/domain-errors.js';
import { readLimited, StreamTooLargeError } from '../common/read-limited.js';

/** Maximum page size of a tags list or the catalog, whatever `n` requests. */
export const maxPageSize = 1000;

export function queryOf(request: FastifyRequest): URLSearchParams {
  const index = request.url.indexOf('?');

  return new URLSearchParams(index === -1 ? '' : request.url.slice(index + 1));
}

/** Reads `n` and `last`; a missing `n` means the largest page, and a larger one is capped to it. */
export function paginationOf(request: FastifyRequest): { limit: number; last?: string } {
  const query = queryOf(request);
  const n = query.get('n');
  const last = query.get('last') ?? undefined;

  if (n === null) {
    return { limit: maxPageSize, last };
  }

  if (!/^\d{1,10}$/.test(n)) {
    throw new PaginationInvalidError('n', n);
  }

  return { limit: Math.min(Number(n), maxPageSize), last };
}

/** Returns the declared Content-Length, or undefined when the body is chunked or absent. */
export function contentLengthOf(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];

  return header === undefined ? undefined : Number(header);
}

/** True when the request carries a body: a positive Content-Length or chunked transfer encoding. */
export function hasBody(request: FastifyRequest): boolean {
  const length = contentLengthOf(request);

  return (length !== undefined && length > 0) || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a whole request body of at most `limit` bytes, throwing StreamTooLargeError past it. A larger
 * declared Content-Length is rejected before any byte is read.
 */
export async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const declared = contentLengthOf(request);

  if (declared !== undefined && declared > limit) {
    request.raw.resume();

    throw new StreamTooLargeError(limit);
  }

  const body = await readLimited(request.raw, limit);

  if (declared !== undefined && declared !== body.length) {
    throw new SizeMismatchError(declared, body.length);
  }

  return body;
}
