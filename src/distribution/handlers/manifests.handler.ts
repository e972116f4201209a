import { Inject, Injectable, Optional } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AuditLog } from '../../auth/audit-log.js';
import { ManifestTooLargeError } from '../../common/domain-errors.js';
import { ManifestHooks } from '../../common/manifest-hooks.js';
import { referenceText } from '../../common/reference.js';
import { maxManifestBytes } from '../../common/manifest-parser.js';
import { StreamTooLargeError } from '../../common/read-limited.js';
import { queryOf, readBody } from '../http-request.js';
import type { OciRoute } from '../oci-path.js';
import { OciUrls } from '../oci-urls.js';
import { ManifestService } from '../services/manifest.service.js';
import { RegistryReader } from '../services/registry-reader.js';
import { auditCaller, dispatch } from './handler-table.js';

type ManifestRoute = Extract<OciRoute, { kind: 'manifest' }>;

/** `/v2/<name>/manifests/<reference>`: GET, HEAD, PUT and DELETE. */
@Injectable()
export class ManifestsHandler {
  constructor(
    @Inject(RegistryReader) private readonly reader: RegistryReader,
    @Inject(ManifestService) private readonly manifests: ManifestService,
    @Inject(OciUrls) private readonly urls: OciUrls,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Optional() @Inject(ManifestHooks) private readonly hooks?: ManifestHooks,
  ) {}

  handle(route: ManifestRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch(
      {
        GET: (r, req, res) => this.get(r, req, res, true),
        HEAD: (r, req, res) => this.get(r, req, res, false),
        PUT: (r, req, res) => this.put(r, req, res),
        DELETE: (r, req, res) => this.delete(r, req, res),
      },
      route,
      request,
      reply,
    );
  }

  private async get(route: ManifestRoute, request: FastifyRequest, reply: FastifyReply, withBody: boolean) {
    const manifest = await this.reader.getManifest(route.name, route.reference, withBody);

    // Policies judge what is pulled, so a HEAD, which only resolves a reference, is never refused.
    if (withBody) {
      this.hooks?.checkPull({
        repository: route.name,
        digest: manifest.digest,
        mediaType: manifest.mediaType,
        requestId: request.id,
        bytes: manifest.bytes,
      });
    }

    if (manifest.warning !== undefined) {
      reply.header('Warning', manifest.warning);
    }

    await reply
      .status(200)
      .header('Content-Type', manifest.mediaType)
      .header('Content-Length', manifest.size)
      .header('Docker-Content-Digest', manifest.digest)
      .header('ETag', `"${manifest.digest}"`)
      .send(manifest.bytes);
  }

  private async put(route: ManifestRoute, request: FastifyRequest, reply: FastifyReply) {
    const bytes = await readBody(request, maxManifestBytes).catch((error: unknown) => {
      throw error instanceof StreamTooLargeError ? new ManifestTooLargeError(maxManifestBytes) : error;
    });
    const pushed = await this.manifests.push({
      name: route.name,
      reference: route.reference,
      bytes,
      contentType: request.headers['content-type'],
      tags: queryOf(request).getAll('tag'),
      permissions: {
        create: request.registryGrant?.permits(route.name, 'create') ?? true,
        update: request.registryGrant?.permits(route.name, 'update') ?? true,
      },
    });
    const caller = auditCaller(request);

    this.audit.record('push', {
      ...caller,
      repository: route.name,
      digest: pushed.digest,
      tags: pushed.tags.created,
    });

    for (const { tag, from } of pushed.tags.moved) {
      this.audit.record('tag-move', { ...caller, repository: route.name, tag, from, to: pushed.digest });
    }

    if (pushed.subjectDigest !== null) {
      reply.header('OCI-Subject', pushed.subjectDigest);
    }

    await reply
      .status(201)
      .header('Location', this.urls.manifest(route.name, pushed.digest))
      .header('Docker-Content-Digest', pushed.digest)
      .header('Content-Length', 0)
      .send();
  }

  private async delete(route: ManifestRoute, request: FastifyRequest, reply: FastifyReply) {
    await this.manifests.delete(route.name, route.reference);
    this.audit.record('delete', {
      ...auditCaller(request),
      repository: route.name,
      reference: referenceText(route.reference),
    });
    await reply.status(202).header('Content-Length', 0).send();
  }
}
