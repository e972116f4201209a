import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { WharfConfig } from '../config/config.schema.js';
import { type BodyByteCounts, countBodyBytes } from './body-byte-counter.js';
import { routeLabel } from './route-label.js';
import { WharfMetrics } from './wharf-metrics.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Body bytes of this request and its response, set by the request metrics hook. */
    bodyBytes?: BodyByteCounts;
  }
}

/**
 * Counts every request Fastify routes, 404s and errors included, with Fastify hooks on the main
 * listener. Requests Node rejects before routing (malformed HTTP) are not counted.
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
      request.bodyBytes = countBodyBytes(request.raw, reply.raw);
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.metrics.recordRequest({
        method: request.method,
        route: routeLabel(request.url, routeUrlOf(request), request.ociRouteKind),
        status: reply.statusCode,
        durationSeconds: reply.elapsedTime / 1000,
        requestBytes: request.bodyBytes?.received ?? 0,
        responseBytes: request.bodyBytes?.sent ?? 0,
      });
      done();
    });
  }
}

/** Returns the template of the matched route, or undefined when no route matched and the 404 handler ran. */
function routeUrlOf(request: FastifyRequest): string | undefined {
  return request.is404 ? undefined : request.routeOptions.url;
}
