import { All, Controller, Inject, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { PushToUpstreamDeniedError } from '../common/domain-errors.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';
import { BlobsHandler } from './handlers/blobs.handler.js';
import { dispatch } from './handlers/handler-table.js';
import { ListingsHandler } from './handlers/listings.handler.js';
import { ManifestsHandler } from './handlers/manifests.handler.js';
import { UploadsHandler } from './handlers/uploads.handler.js';
import { OciErrorFilter } from './oci-error.filter.js';
import { type OciRoute, parseOciPath } from './oci-path.js';

/**
 * The one entry point of the `/v2` API. Repository names contain `/`, so a wildcard route hands every
 * path to the OCI path parser, and the parsed endpoint picks the handler.
 */
@Controller()
@UseFilters(OciErrorFilter)
export class DistributionController {
  constructor(
    @Inject(ManifestsHandler) private readonly manifests: ManifestsHandler,
    @Inject(BlobsHandler) private readonly blobs: BlobsHandler,
    @Inject(UploadsHandler) private readonly uploads: UploadsHandler,
    @Inject(ListingsHandler) private readonly listings: ListingsHandler,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
  ) {}

  @All(['v2', 'v2/*'])
  async handle(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');

    const route = parseOciPath(request.url.split('?')[0]);

    this.assertWritable(route, request.method);

    switch (route.kind) {
      case 'base':
        return dispatch({ GET: checkVersion, HEAD: checkVersion }, route, request, reply);
      case 'catalog':
        return this.listings.handleCatalog(route, request, reply);
      case 'tags':
        return this.listings.handleTags(route, request, reply);
      case 'referrers':
        return this.listings.handleReferrers(route, request, reply);
      case 'manifest':
        return this.manifests.handle(route, request, reply);
      case 'blob':
        return this.blobs.handle(route, request, reply);
      case 'uploads':
        return this.uploads.handleStart(route, request, reply);
      case 'upload':
        return this.uploads.handleSession(route, request, reply);
    }
  }

  /** Rejects writes into an upstream prefix before they touch storage or the upstream. */
  private assertWritable(route: OciRoute, method: string): void {
    if (!('name' in route) || !writeMethods.has(method)) {
      return;
    }

    const target = this.routes.match(route.name);

    if (target) {
      throw new PushToUpstreamDeniedError(route.name, target.upstream.prefix);
    }
  }
}

/** Methods that change a repository; pull-through repositories take none of them. */
const writeMethods = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** Handles `GET /v2/`, which confirms to clients that this server implements the registry API. */
async function checkVersion(_route: unknown, _request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.status(200).header('Content-Type', 'application/json').send('{}');
}
