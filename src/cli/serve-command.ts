import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';

import { InFlightRequests } from '../common/in-flight-requests.js';
import { ShutdownState } from '../common/shutdown-state.js';
import type { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import { createLogger, createWharfApp } from '../http-server.js';

/** A failure to listen whose message names the setting to change; the CLI prints it without a stack trace. */
export class ListenError extends Error {}

/** Turns the errors of a port that cannot be taken into messages that name the setting to change. */
function listenError(error: unknown, config: WharfConfig): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = `${config.http.address} port ${config.http.port}`;

  if (code === 'EADDRINUSE') {
    return new ListenError(
      `${where} is already in use by another process; stop it or choose another port with http.port (WHARF_HTTP__PORT)`,
    );
  }

  if (code === 'EADDRNOTAVAIL') {
    return new ListenError(
      `${config.http.address} is not an address of this machine; set http.address (WHARF_HTTP__ADDRESS) to one of its addresses`,
    );
  }

  if (code === 'EACCES') {
    return new ListenError(
      `not permitted to listen on ${where}; ports below 1024 need privileges, so choose a higher http.port`,
    );
  }

  return error;
}

/** Starts the registry and returns once it listens; SIGTERM and SIGINT then shut it down gracefully. */
export async function serve(config: WharfConfig): Promise<void> {
  const logger = createLogger(config);
  const app = await createWharfApp(config, logger);
  const server = app.getHttpServer();
  const requests = new InFlightRequests(server);

  try {
    await app.listen({ host: config.http.address, port: config.http.port });
  } catch (error) {
    // The database and timers are open by now; closing them lets the process exit by itself.
    await app.close();

    throw listenError(error, config);
  }

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  const host = config.http.address.includes(':') ? `[${config.http.address}]` : config.http.address;

  logger.info(
    {
      url: `http://${host}:${port}`,
      rootDirectory: config.storage.rootDirectory,
      database: config.database.path,
    },
    'wharf listening',
  );

  const graceMs = durationMs(config.http.shutdownGracePeriod);
  let shuttingDown = false;

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (shuttingDown) {
        logger.warn({ signal, requestsInFlight: requests.count }, 'second signal; exiting without waiting');
        process.exit(1);
      }

      shuttingDown = true;
      void shutDown(app, logger, requests, graceMs, signal);
    });
  }
}

/**
 * Shuts down in order. Readiness fails and new uploads are rejected at once. The server keeps
 * listening while requests in flight finish, for up to the grace period. Then it closes, cutting the
 * connections still open, and the process exits 0.
 */
async function shutDown(
  app: NestFastifyApplication,
  logger: Logger,
  requests: InFlightRequests,
  graceMs: number,
  signal: NodeJS.Signals,
): Promise<void> {
  const server = app.getHttpServer();

  app.get(ShutdownState).begin(graceMs);
  logger.info({ signal, graceMs, requestsInFlight: requests.count }, 'shutting down');

  // A stalled client must not keep the process alive, so the grace period ends with every connection cut.
  setTimeout(() => {
    logger.warn(
      { requestsInFlight: requests.count },
      'grace period over; closing the connections still open',
    );
    server.closeAllConnections();
  }, graceMs).unref();

  // Listening on while requests finish lets late clients get a 503 (readiness, new uploads) instead of
  // a refused connection.
  await requests.waitUntilIdle(graceMs);

  try {
    await app.close();
    logger.info('shut down');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'failed to shut down cleanly');
    process.exit(1);
  }
}
