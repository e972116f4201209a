import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { clientClosedStatus } from '../common/client-closed.js';
import { WharfConfig } from '../config/config.schema.js';
import { countBodyBytes } from './body-byte-counter.js';
import { routeLabel } from './route-label.js';
import { WharfMetrics } from './wharf-metrics.service.js';

/**
 * Counts every request Fastify routes, 404s, errors and requests the client cancelled included, with
 * a Fastify hook on the main listener. Requests Node rejects before routing (malformed HTTP) are not
 * counted.
 */
@Injectable()
export class RequestMetrics implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(WharfMetrics) private readonly metrics: WharfMetrics,
  ) {}

  /** Adds the hooks, which Fastify applies to every route when it starts listening. */
  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as typeof this.adapterHost.httpAdapter | undefined;

    // A Nest application context without an HTTP server (a CLI command) has nothing to count.
    if (!this.config.metrics.enabled || adapter === undefined) {
      return;
    }

    const fastify = adapter.getInstance<FastifyInstance>();

    fastify.addHook('onRequest', (request, reply, done) => {
      const bodyBytes = countBodyBytes(request.raw, reply.raw);

      // A response closes once, whether it ended or its client went away first. Fastify's onResponse
      // hook runs only for the first case, so a download cancelled midway would not be counted.
      reply.raw.once('close', () => {
        this.metrics.recordRequest({
          method: request.method,
          route: routeLabel(request.url, routeUrlOf(request), request.ociRouteKind),
          status: reply.raw.writableFinished ? reply.statusCode : clientClosedStatus,
          durationSeconds: reply.elapsedTime / 1000,
          requestBytes: bodyBytes.received,
          responseBytes: bodyBytes.sent,
        });
      });
      done();
    });
  }
}

/** Returns the template of the matched route, or undefined when no route matched and the 404 handler ran. */
function routeUrlOf(request: FastifyRequest): string | undefined {
  return request.is404 ? undefined : request.routeOptions.url;
}
