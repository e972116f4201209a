import type { Socket } from 'node:net';

import type { OciErrorCode } from './oci-errors.js';

/** Node's HTTP parser errors that mean the body did not match its declared length. */
const lengthErrors = new Set(['HPE_INVALID_CONTENT_LENGTH', 'HPE_UNEXPECTED_CONTENT_LENGTH']);

/**
 * Responds to a request that Node's HTTP parser rejected, such as bytes beyond the declared
 * Content-Length, with an OCI error body instead of Fastify's generic one, then closes the connection.
 */
export function writeMalformedRequestError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    return;
  }

  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const code: OciErrorCode = lengthErrors.has(error.code ?? '') ? 'SIZE_INVALID' : 'UNSUPPORTED';
  const body = JSON.stringify({
    errors: [{ code, message: 'malformed HTTP request', detail: { reason: error.code ?? 'unknown' } }],
  });

  socket.end(
    [
      `HTTP/1.1 ${status}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}
