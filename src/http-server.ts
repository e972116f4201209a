import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type DestinationStream, pino, type Logger } from 'pino';

import { setUpOpenApi } from './admin/openapi.js';
import { AppModule } from './app.module.js';
import { BlobTransfers } from './common/blob-transfers.js';
import { clientClosedStatus } from './common/client-closed.js';
import { NetworkList } from './common/networks.js';
import { NestPinoLogger } from './common/nest-pino-logger.js';
import { createRequestLogger } from './common/request-logger.js';
import { writeMalformedRequestError } from './distribution/malformed-request.js';
import type { WharfConfig } from './config/config.schema.js';
import { openDataSource } from './metadata/metadata.module.js';

/** JSON bodies of non-registry routes are parsed up to this size; `/v2` bodies stream unparsed. */
const maxJsonBodyBytes = 1024 * 1024;
const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Errors of a client that went away: a reset, a broken pipe, or the connection closed in the middle
 * of a request body, which Node's parser reports as `HPE_INVALID_EOF_STATE`.
 */
const clientWentAwayCodes = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE']);

/**
 * Log fields that may carry credentials, at the top level and one level down (`*.token` covers
 * `body.token` but not `a.body.token`, because pino's redact paths have no deeper wildcard).
 */
const secretKeys = [
  'password',
  'token',
  'secret',
  'refresh_token',
  'access_token',
  'client_secret',
  'clientSecret',
];

export const redactedLogPaths = [
  ...['authorization', 'cookie', '["set-cookie"]'].map((header) => `*.headers.${header}`),
  ...secretKeys,
  ...secretKeys.map((key) => `*.${key}`),
];

/** Creates the process's logger; `destination` defaults to standard output. */
export function createLogger(config: WharfConfig, destination?: DestinationStream): Logger {
  const options = { level: config.log.level, redact: { paths: redactedLogPaths, censor: '[redacted]' } };

  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Builds the application: database and migrations first, then Nest on Fastify with Wharf's HTTP rules. */
export async function createWharfApp(config: WharfConfig, logger: Logger): Promise<NestFastifyApplication> {
  const dataSource = await openDataSource({
    type: config.database.type,
    path: config.database.path ?? '',
    url: config.database.url,
  });
  const trustedProxies = new NetworkList(config.http.trustedProxies);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One access line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // The client address (request.ip) comes from X-Forwarded-For only when a trusted proxy sent it.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    genReqId: (request: IncomingMessage) => requestIdOf(request, trustedProxies),
    childLoggerFactory: createRequestLogger,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      // Requests the HTTP parser rejects never reach Fastify's hooks, so they get their own log line.
      // A client that went away is not one of them: the request it made logs 'request aborted'.
      if (isTlsHandshake((error as { rawPacket?: unknown }).rawPacket)) {
        // Clients such as skopeo try HTTPS first on every pull of an insecure registry.
        logger.debug(
          { remoteAddress: socket.remoteAddress },
          'TLS handshake on the plain HTTP port rejected',
        );
      } else if (!clientWentAwayCodes.has(error.code ?? '')) {
        logger.info(
          { reason: error.code ?? 'unknown', remoteAddress: socket.remoteAddress },
          'malformed request rejected',
        );
      }

      writeMalformedRequestError(error, socket);
    },
    // OCI paths are matched by the OCI path parser, which rejects what it does not expect; Fastify's
    // own rewriting of the path would hide that from it.
    routerOptions: { ignoreDuplicateSlashes: false, ignoreTrailingSlash: false },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, dataSource, logger),
    adapter,
    {
      bodyParser: false,
      logger: new NestPinoLogger(logger),
    },
  );

  configureHttp(app.getHttpAdapter().getInstance(), logger);
  app.get(BlobTransfers).watch(app.getHttpServer());
  // Request bodies of the JSON API are validated against their DTO classes; unknown keys are refused.
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: true,
    }),
  );
  setUpOpenApi(app);

  return app;
}

/**
 * Takes a well-formed `X-Request-Id` from a trusted proxy, so that its logs and Wharf's share one id.
 * Any other client gets a new id, because an id it chose could make its requests look like another's.
 */
export function requestIdOf(request: IncomingMessage, trustedProxies: NetworkList): string {
  const header = request.headers['x-request-id'];

  // The header is checked first: most requests carry none, and the address check costs more.
  return typeof header === 'string' &&
    requestIdPattern.test(header) &&
    trustedProxies.contains(request.socket.remoteAddress)
    ? header
    : randomUUID();
}

function configureHttp(fastify: FastifyInstance, logger: Logger): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (request.url.startsWith('/v2') || isRecordStream(request.url, request.headers['content-type'])) {
      // Registry bodies (blobs, chunks, manifests) and vulnerability imports are read as streams.
      done(null, payload);

      return;
    }

    void readBody(payload, request.headers['content-type'], request.url.startsWith('/auth/token')).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('X-Request-Id', request.id);
    done(null, payload);
  });

  // Access lines are written at info. Below that level the hook would build them for nothing, and
  // the level is fixed for the life of the process.
  if (!logger.isLevelEnabled('info')) {
    return;
  }

  fastify.addHook('onRequest', (request, reply, done) => {
    // A closed socket no longer has a remote address, so it is read while the request arrives.
    const remoteAddress = request.ip;

    // A response closes once, whether it ended or its client went away first, such as a download
    // cancelled midway. Fastify's onResponse hook runs only for the first case.
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) {
        request.log.info(
          accessLogFields(request, reply, reply.statusCode, remoteAddress),
          'request completed',
        );
      } else {
        request.log.info(
          accessLogFields(request, reply, clientClosedStatus, remoteAddress),
          'request aborted',
        );
      }
    });
    done();
  });
}

/** Returns the fields of a request's access log line. */
function accessLogFields(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  remoteAddress: string,
): Record<string, unknown> {
  return {
    method: request.method,
    // Sign-in callbacks carry codes in the query, so auth paths are logged without it.
    url: request.url.startsWith('/auth/') ? request.url.split('?')[0] : request.url,
    statusCode,
    durationMs: Math.round(reply.elapsedTime),
    remoteAddress,
  };
}

/**
 * Returns whether the bytes the HTTP parser rejected (Node's `rawPacket`) start a TLS handshake record:
 * content type 22, version 3.x.
 */
function isTlsHandshake(bytes: unknown): boolean {
  return Buffer.isBuffer(bytes) && bytes.length >= 2 && bytes[0] === 0x16 && bytes[1] === 0x03;
}

/** Tells whether a body is a vulnerability import: OSV records as NDJSON, too big to read whole. */
function isRecordStream(url: string, contentType: string | undefined): boolean {
  return (
    url.split('?')[0] === '/api/v1/vulndb/import' &&
    contentType?.split(';')[0].trim().toLowerCase() === 'application/x-ndjson'
  );
}

/**
 * Parses a JSON body, or a form body on the token endpoint, whose OAuth 2 grants are forms. Other routes
 * take JSON only, so a cross-site HTML form cannot post to them.
 */
async function readBody(
  payload: IncomingMessage,
  contentType: string | undefined,
  formAllowed: boolean,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;

  for await (const chunk of payload) {
    size += (chunk as Buffer).length;

    if (size > maxJsonBodyBytes) {
      throw Object.assign(new Error('request body is too large'), { statusCode: 413 });
    }

    chunks.push(chunk as Buffer);
  }

  const text = Buffer.concat(chunks).toString('utf8');
  const mediaType = contentType?.split(';')[0].trim().toLowerCase();

  if (text.length === 0) {
    return undefined;
  }

  if (mediaType === 'application/x-www-form-urlencoded' && formAllowed) {
    return Object.fromEntries(new URLSearchParams(text));
  }

  // Public keys and certificates for signature checks are uploaded as they are stored on disk. A client
  // such as `curl -T` sends them without a Content-Type.
  if (mediaType === 'application/x-pem-file' || (mediaType === undefined && text.startsWith('-----BEGIN '))) {
    return text;
  }

  if (mediaType !== undefined && mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    const accepted = formAllowed ? 'JSON or a form' : 'JSON (application/json)';

    throw Object.assign(
      new Error(
        `request bodies must be ${accepted}, or PEM (application/x-pem-file) for signing keys and certificates, not ${mediaType}; set Content-Type`,
      ),
      { statusCode: 415 },
    );
  }

  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error('the request body is not valid JSON'), { statusCode: 400 });
  }
}
