import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from 'pino';
import { register } from 'prom-client';

import { RootLogger } from '../common/root-logger.js';
import { WharfConfig } from '../config/config.schema.js';

/**
 * The separate metrics listener on `metrics.port` (0 turns it off), on `http.address`. It serves
 * `GET /metrics` without authentication, for a Prometheus inside the cluster, and nothing else. When
 * the port cannot be bound, the error is logged and the registry starts anyway, because `/metrics`
 * on the main port still works.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(RootLogger) private readonly logger: Logger,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, port } = this.config.metrics;
    const address = this.config.http.address;

    const serving = (this.adapterHost.httpAdapter as unknown) !== undefined;

    // An application context without an HTTP server (a CLI command) must not take the port.
    if (!enabled || port === 0 || !serving) {
      return;
    }

    const server = createServer((request, response) => void this.serve(request, response));

    try {
      await listen(server, address, port);
    } catch (error) {
      this.logger.error(
        { err: error, address, port },
        'failed to start the metrics listener; /metrics on the main port still works',
      );

      return;
    }

    const bound = server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

    this.server = server;
    this.logger.info({ url: `http://${host}:${bound.port}/metrics` }, 'metrics listening');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;

    if (server === undefined) {
      return;
    }

    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Prometheus keeps its connection open between scrapes, so close() alone would wait for it.
      server.closeIdleConnections();
    });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?', 1)[0];

    if (path !== '/metrics') {
      sendError(response, 404, 'NOT_FOUND', 'this listener serves only GET /metrics');

      return;
    }

    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendError(response, 405, 'UNSUPPORTED', `method ${request.method} is not supported; use GET`);

      return;
    }

    try {
      const text = await register.metrics();

      response.writeHead(200, { 'Content-Type': register.contentType });
      response.end(request.method === 'HEAD' ? undefined : text);
    } catch (error) {
      this.logger.error({ err: error }, 'failed to collect metrics');
      sendError(response, 500, 'UNKNOWN', 'failed to collect metrics');
    }
  }
}

function listen(server: Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Sends the error shape of the rest of Wharf, `{"errors":[{"code","message"}]}`. */
function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify({ errors: [{ code, message }] }));
}
