import { All, Controller, Inject, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { type AccessGrant, RegistryAccess, type RegistryNeed } from '../auth/registry-access.js';
import { RegistryRoute } from '../auth/route-access.js';
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
declare module 'fastify' {
  interface FastifyRequest {
    /** Rights of the caller of a `/v2` request, set before the handler runs. */
    registryGrant?: AccessGrant;
    /** Endpoint of a `/v2` request, set once its path parses; the request metrics label the request by it. */
    ociRouteKind?: OciRoute['kind'];
  }
}

@Controller()
@RegistryRoute()
@UseFilters(OciErrorFilter)
export class DistributionController {
  constructor(
    @Inject(ManifestsHandler) private readonly manifests: ManifestsHandler,
    @Inject(BlobsHandler) private readonly blobs: BlobsHandler,
    @Inject(UploadsHandler) private readonly uploads: UploadsHandler,
    @Inject(ListingsHandler) private readonly listings: ListingsHandler,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
  ) {}

  @All(['v2', 'v2/*'])
  async handle(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');

    const route = parseOciPath(request.url.split('?')[0]);

    request.ociRouteKind = route.kind;
    this.assertWritable(route, request.method);
    request.registryGrant = await this.access.authorize(request, needOf(route, request.method));

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

/**
 * Derives the access a request needs: reads need pull, deletes of manifests and blobs need delete, and everything else
 * on a repository (uploads, manifest PUT) needs push.
 */
function needOf(route: OciRoute, method: string): RegistryNeed {
  if (route.kind === 'base' || route.kind === 'catalog') {
    return { kind: route.kind };
  }

  if (method === 'GET' || method === 'HEAD') {
    return { kind: 'repository', name: route.name, actions: ['pull'] };
  }

  if (method === 'DELETE' && (route.kind === 'manifest' || route.kind === 'blob')) {
    return { kind: 'repository', name: route.name, actions: ['delete'] };
  }

  return { kind: 'repository', name: route.name, actions: ['push'] };
}

/** Methods that change a repository; pull-through repositories take none of them. */
const writeMethods = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** Handles `GET /v2/`, which confirms to clients that this server implements the registry API. */
async function checkVersion(_route: unknown, _request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.status(200).header('Content-Type', 'application/json').send('{}');
}
