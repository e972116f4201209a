import { Inject, Injectable } from '@nestjs/common';

import type { Digest } from '../common/digest.js';
import {
  RepositoryNotFoundError,
  UpstreamRateLimitedError,
  UpstreamUnavailableError,
} from '../common/domain-errors.js';
import { mediaTypes } from '../common/media-types.js';
import type { ManifestRecord, Page } from '../metadata/records.js';
import { ManifestStore } from '../metadata/stores/manifest.store.js';
import { readJson } from './upstream-client.js';
import { UpstreamClients } from './upstream-clients.js';
import type { UpstreamTarget } from './upstream-routes.js';
import { UpstreamStatistics } from './upstream-statistics.service.js';

interface ReferrerDescriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  artifactType?: unknown;
  annotations?: unknown;
}

/**
 * Tag lists and referrers through an upstream prefix. They are asked of the upstream every time, and
 * fall back to what the cache holds when the upstream fails.
 */
@Injectable()
export class PullThroughListings {
  constructor(
    @Inject(UpstreamClients) private readonly clients: UpstreamClients,
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(UpstreamStatistics) private readonly statistics: UpstreamStatistics,
  ) {}

  async listTags(target: UpstreamTarget, limit: number, last?: string): Promise<Page> {
    const query = new URLSearchParams({ n: String(limit) });

    if (last !== undefined) {
      query.set('last', last);
    }

    try {
      const response = await this.clients
        .for(target.upstream)
        .get(target.remoteName, `tags/list?${query.toString()}`);

      if (response.status !== 200) {
        response.body.resume();
        this.statistics.notFound(target.upstream.prefix, target.localName);

        throw new RepositoryNotFoundError(target.localName);
      }

      const body = (await readJson(response.body)) as { tags?: unknown };
      const tags = Array.isArray(body.tags)
        ? body.tags.filter((tag): tag is string => typeof tag === 'string')
        : [];
      // Some registries ignore `n`; sorting and cutting here keeps pages consistent either way.
      const sorted = tags.sort().filter((tag) => last === undefined || tag > last);
      const more = sorted.length > limit || /rel="?next"?/.test(response.headers.link ?? '');

      return { items: sorted.slice(0, limit), more };
    } catch (error) {
      return this.fallBack(target, error, () => this.manifests.listTags(target.localName, limit, last));
    }
  }

  async listReferrers(
    target: UpstreamTarget,
    digest: Digest,
    artifactType?: string,
  ): Promise<ManifestRecord[]> {
    const query = artifactType === undefined ? '' : `?${new URLSearchParams({ artifactType }).toString()}`;

    try {
      const response = await this.clients
        .for(target.upstream)
        .get(target.remoteName, `referrers/${digest.toString()}${query}`);

      if (response.status !== 200) {
        // Registries without the referrers API return 404; the cache may still hold some referrers.
        response.body.resume();

        return await this.manifests.referrers(target.localName, digest.toString(), artifactType);
      }

      const body = (await readJson(response.body)) as { manifests?: unknown };
      const descriptors = Array.isArray(body.manifests) ? (body.manifests as ReferrerDescriptor[]) : [];

      return descriptors
        .filter((descriptor) => artifactType === undefined || descriptor.artifactType === artifactType)
        .flatMap((descriptor) => toRecord(target.localName, descriptor));
    } catch (error) {
      return this.fallBack(target, error, () =>
        this.manifests.referrers(target.localName, digest.toString(), artifactType),
      );
    }
  }

  /** Serves the cached listing when the upstream failed; rethrows when the cache has nothing either. */
  private async fallBack<T>(
    target: UpstreamTarget,
    error: unknown,
    cached: () => Promise<T | undefined>,
  ): Promise<T> {
    if (!(error instanceof UpstreamUnavailableError || error instanceof UpstreamRateLimitedError)) {
      throw error;
    }

    this.statistics.error(
      target.upstream.prefix,
      target.localName,
      error instanceof UpstreamRateLimitedError ? 'rate-limited' : error.failure,
    );

    const result = await cached();

    if (result === undefined) {
      throw error;
    }

    return result;
  }
}

function toRecord(repository: string, descriptor: ReferrerDescriptor): ManifestRecord[] {
  const { mediaType, digest, size, artifactType, annotations } = descriptor;

  if (typeof digest !== 'string' || typeof size !== 'number') {
    return [];
  }

  return [
    {
      repository,
      digest,
      size,
      mediaType: typeof mediaType === 'string' ? mediaType : mediaTypes.ociManifest,
      artifactType: typeof artifactType === 'string' ? artifactType : null,
      subjectDigest: null,
      annotations:
        typeof annotations === 'object' && annotations !== null
          ? (annotations as Record<string, string>)
          : null,
    },
  ];
}
