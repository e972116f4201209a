import type { IncomingMessage, ServerResponse } from 'node:http';

/** Body bytes of one request and its response, counted while they flow. */
export interface BodyByteCounts {
  received: number;
  sent: number;
}

/**
 * Starts counting the body bytes of a request and of its response. Handlers read registry bodies
 * straight from the request stream and responses may be streamed, so neither Content-Length header
 * shows how many bytes were actually transferred.
 *
 * Received bytes: Node's HTTP parser hands every body chunk to the request stream's `push()` (Node 20),
 * so a wrapper there counts the bytes no matter which code reads them, and bytes buffered before counting started are
 * in `readableLength`. Sent bytes: every body chunk passes through the response's `write()` or
 * `end()`; Node drops body bytes of HEAD, 204 and 304 responses, so they are not counted either.
 */
export function countBodyBytes(request: IncomingMessage, response: ServerResponse): BodyByteCounts {
  const counts: BodyByteCounts = { received: request.readableLength, sent: 0 };
  // write() and end() have several overloads, and the first argument is the chunk whenever there is one.
  const push = request.push.bind(request) as (...args: unknown[]) => boolean;
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  const bodyless = request.method === 'HEAD';

  const countSent = (chunk: unknown, encoding: unknown) => {
    if (!bodyless && response.statusCode !== 204 && response.statusCode !== 304) {
      counts.sent += chunkLength(chunk, encoding);
    }
  };

  request.push = (...args: unknown[]) => {
    counts.received += chunkLength(args[0], args[1]);

    return push(...args);
  };

  response.write = ((...args: unknown[]) => {
    countSent(args[0], args[1]);

    return write(...args);
  }) as ServerResponse['write'];
  response.end = ((...args: unknown[]) => {
    countSent(args[0], args[1]);

    return end(...args);
  }) as ServerResponse['end'];

  return counts;
}

/** Returns the byte length of a body chunk. Callbacks and end-of-stream markers count as 0. */
function chunkLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }

  if (chunk instanceof Uint8Array) {
    return chunk.byteLength;
  }

  return 0;
}
