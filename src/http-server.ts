import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyInstance, LogController } from 'fastify';
import { pino, type Logger } from 'pino';

import { AppModule } from './app.module.js';
import { NestPinoLogger } from './common/nest-pino-logger.js';
import { writeMalformedRequestError } from './distribution/malformed-request.js';
import type { WharfConfig } from './config/config.schema.js';
import { openDataSource } from './metadata/metadata.module.js';

/** JSON bodies of non-registry routes are parsed up to this size; `/v2` bodies stream unparsed. */
const maxJsonBodyBytes = 1024 * 1024;
const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

export function createLogger(config: WharfConfig): Logger {
  return pino({
    level: config.log.level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password'],
      censor: '[redacted]',
    },
  });
}

/** Builds the application: database and migrations first, then Nest on Fastify with Wharf's HTTP rules. */
export async function createWharfApp(config: WharfConfig, logger: Logger): Promise<NestFastifyApplication> {
  const dataSource = await openDataSource({
    type: config.database.type,
    path: config.database.path ?? '',
    url: config.database.url,
  });
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One access line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => requestIdOf(request),
    clientErrorHandler: writeMalformedRequestError,
    // OCI paths are matched by the OCI path parser, which rejects what it does not expect; Fastify's
    // own rewriting of the path would hide that from it.
    routerOptions: { ignoreDuplicateSlashes: false, ignoreTrailingSlash: false },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, dataSource),
    adapter,
    {
      bodyParser: false,
      logger: new NestPinoLogger(logger),
    },
  );

  configureHttp(app.getHttpAdapter().getInstance());

  return app;
}

function requestIdOf(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];

  return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
}

function configureHttp(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (request.url.startsWith('/v2')) {
      // Registry bodies (blobs, chunks, manifests) are read by the handlers as streams.
      done(null, payload);

      return;
    }

    void readJson(payload).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });

  fastify.addHook('onSend', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime),
        remoteAddress: request.ip,
      },
      'request completed',
    );
  });
}

async function readJson(payload: IncomingMessage): Promise<unknown> {
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

  return text.length === 0 ? undefined : JSON.parse(text);
}
