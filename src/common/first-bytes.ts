import type { Readable } from 'node:stream';

/**
 * Waits until a body stream has bytes, has ended, or has failed. A failure before the first byte (an
 * upstream transfer that broke early) then becomes an OCI error response instead of a 500 after the
 * status line was chosen.
 */
export async function firstBytes(stream: Readable): Promise<Readable> {
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('readable', onReady);
      stream.off('error', settle);

      if (error) {
        reject(error);
      } else {
        resolve();
      }
    };

    const onReady = () => settle();

    stream.once('readable', onReady);
    stream.once('error', settle);
  });

  // Between here and reply.send() attaching its own listener, an error must not go unhandled.
  stream.on('error', () => undefined);

  return stream;
}
