import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { RepositoryStore } from '../../metadata/stores/repository.store.js';
import type { Page } from '../../metadata/records.js';
import { paginationOf, queryOf } from '../http-request.js';
import { mediaTypes } from '../../common/media-types.js';
import type { OciRoute } from '../oci-path.js';
import { OciUrls } from '../oci-urls.js';
import { RegistryReader } from '../services/registry-reader.js';
import { dispatch } from './handler-table.js';

type TagsRoute = Extract<OciRoute, { kind: 'tags' }>;
type ReferrersRoute = Extract<OciRoute, { kind: 'referrers' }>;
type CatalogRoute = Extract<OciRoute, { kind: 'catalog' }>;

/** Repositories read per query while filtering the catalog by access. */
const catalogBatch = 500;

/** The listing endpoints: tags list, catalog and referrers. */
@Injectable()
export class ListingsHandler {
  constructor(
    @Inject(RegistryReader) private readonly reader: RegistryReader,
    @Inject(RepositoryStore) private readonly repositories: RepositoryStore,
    @Inject(OciUrls) private readonly urls: OciUrls,
  ) {}

  handleTags(route: TagsRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch({ GET: (r, req, res) => this.tags(r, req, res) }, route, request, reply);
  }

  handleCatalog(route: CatalogRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch({ GET: (_r, req, res) => this.catalog(req, res) }, route, request, reply);
  }

  handleReferrers(route: ReferrersRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch({ GET: (r, req, res) => this.referrers(r, req, res) }, route, request, reply);
  }

  private async tags(route: TagsRoute, request: FastifyRequest, reply: FastifyReply) {
    const { limit, last } = paginationOf(request);
    const page = await this.reader.listTags(route.name, limit, last);

    this.addNextLink(reply, this.urls.tags(route.name), limit, page);
    await reply.status(200).send({ name: route.name, tags: page.items });
  }

  private async catalog(request: FastifyRequest, reply: FastifyReply) {
    const { limit, last } = paginationOf(request);
    const grant = request.registryGrant;
    const page = grant
      ? await this.readablePage(limit, last, (name) => grant.mayRead(name))
      : await this.repositories.list(limit, last);

    this.addNextLink(reply, this.urls.catalog(), limit, page);
    await reply.status(200).send({ repositories: page.items });
  }

  /** A catalog page of the repositories the caller may read, reading on until the page is full. */
  private async readablePage(
    limit: number,
    last: string | undefined,
    readable: (name: string) => boolean,
  ): Promise<Page> {
    const items: string[] = [];
    let after = last;

    for (;;) {
      const page = await this.repositories.list(Math.max(limit, catalogBatch), after);

      for (const name of page.items) {
        if (items.length === limit) {
          return { items, more: true };
        }

        if (readable(name)) {
          items.push(name);
        }

        after = name;
      }

      if (!page.more) {
        return { items, more: false };
      }
    }
  }

  private async referrers(route: ReferrersRoute, request: FastifyRequest, reply: FastifyReply) {
    const artifactType = queryOf(request).get('artifactType') ?? undefined;
    const referrers = await this.reader.listReferrers(route.name, route.digest, artifactType);

    if (artifactType !== undefined) {
      reply.header('OCI-Filters-Applied', 'artifactType');
    }

    const index = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: referrers.map((manifest) => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        ...(manifest.artifactType === null ? {} : { artifactType: manifest.artifactType }),
        ...(manifest.annotations === null ? {} : { annotations: manifest.annotations }),
      })),
    };

    // A Buffer keeps Fastify from appending a charset to the media type.
    await reply
      .status(200)
      .header('Content-Type', mediaTypes.ociIndex)
      .send(Buffer.from(JSON.stringify(index)));
  }

  private addNextLink(reply: FastifyReply, path: string, limit: number, page: Page): void {
    const last = page.items.at(-1);

    if (page.more && last !== undefined) {
      reply.header('Link', this.urls.nextPage(path, limit, last));
    }
  }
}
