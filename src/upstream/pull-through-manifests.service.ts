import { Inject, Injectable, Optional } from '@nestjs/common';

import { Digest } from '../common/digest.js';
import {
  ManifestNotFoundError,
  UpstreamRateLimitedError,
  UpstreamUnavailableError,
} from '../common/domain-errors.js';
import { ManifestHooks } from '../common/manifest-hooks.js';
import { maxManifestBytes, parseManifest } from '../common/manifest-parser.js';
import type { Reference } from '../common/reference.js';
import type { ManifestContent } from '../common/registry-content.js';
import { SingleFlight } from '../common/single-flight.js';
import type { ManifestRecord } from '../metadata/records.js';
import { ManifestStore } from '../metadata/stores/manifest.store.js';
import { UpstreamCacheStore } from '../metadata/stores/upstream-cache.store.js';
import { BlobStorage } from '../storage/blob-storage.service.js';
import { UploadStorage } from '../storage/upload-storage.service.js';
import { readSmallBody, type UpstreamResponse } from './upstream-client.js';
import { UpstreamClients } from './upstream-clients.js';
import type { UpstreamTarget } from './upstream-routes.js';
import { UpstreamStatistics } from './upstream-statistics.service.js';

const staleWarning = '299 - "upstream registry unavailable; serving cached content"';

/**
 * Manifests through an upstream prefix. Digests are immutable, so a cached one is always served from
 * the cache. A tag is served from the cache within the upstream's `tagTtl`, then revalidated with one
 * upstream HEAD, and fetched again only when its digest moved.
 */
@Injectable()
export class PullThroughManifests {
  private readonly fetches = new SingleFlight<ManifestContent>();
  private readonly heads = new SingleFlight<ManifestContent | undefined>();

  constructor(
    @Inject(UpstreamClients) private readonly clients: UpstreamClients,
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(UpstreamCacheStore) private readonly cache: UpstreamCacheStore,
    @Inject(UploadStorage) private readonly uploads: UploadStorage,
    @Inject(BlobStorage) private readonly blobs: BlobStorage,
    @Inject(UpstreamStatistics) private readonly statistics: UpstreamStatistics,
    @Optional() @Inject(ManifestHooks) private readonly hooks?: ManifestHooks,
  ) {}

  async getManifest(
    target: UpstreamTarget,
    reference: Reference,
    withBody: boolean,
  ): Promise<ManifestContent> {
    try {
      return reference.digest === undefined
        ? await this.byTag(target, reference.tag, withBody)
        : await this.byDigest(target, reference.digest, withBody);
    } catch (error) {
      this.statistics.failure(target.upstream.prefix, target.localName, error);

      throw error;
    }
  }

  private async byDigest(
    target: UpstreamTarget,
    digest: Digest,
    withBody: boolean,
  ): Promise<ManifestContent> {
    const cached = await this.manifests.find(target.localName, digest.toString());

    if (cached) {
      return this.serveCached(target, cached, withBody);
    }

    this.assertNotKnownMissing(target, digest.toString());

    return (
      (!withBody && (await this.head(target, digest.toString()))) || this.fetch(target, digest.toString())
    );
  }

  private async byTag(target: UpstreamTarget, tag: string, withBody: boolean): Promise<ManifestContent> {
    const cachedDigest = await this.manifests.resolveTag(target.localName, tag);
    const cached =
      cachedDigest === undefined ? undefined : await this.manifests.find(target.localName, cachedDigest);

    if (cached) {
      const checkedAt = (await this.cache.tagCheckedAt(target.localName, tag)) ?? 0;

      if (Date.now() - checkedAt < target.upstream.tagTtlMs) {
        return this.serveCached(target, cached, withBody);
      }

      return this.revalidate(target, tag, cached, withBody);
    }

    this.assertNotKnownMissing(target, tag);

    // A HEAD stays a HEAD upstream: registries such as Docker Hub count only GETs against rate limits.
    return (!withBody && (await this.head(target, tag))) || this.fetch(target, tag, tag);
  }

  /** Confirms a cached tag with one upstream HEAD; serves the cache with a warning if that fails. */
  private async revalidate(
    target: UpstreamTarget,
    tag: string,
    cached: ManifestRecord,
    withBody: boolean,
  ): Promise<ManifestContent> {
    let current: ManifestContent | undefined;

    if (this.clients.recentlyFailed(target.upstream)) {
      // Serve at once rather than let every pull of an expired tag wait for the same failing upstream.
      return { ...(await this.serveCached(target, cached, withBody)), warning: staleWarning };
    }

    try {
      current = await this.head(target, tag);
    } catch (error) {
      // Only a plain 404 means the tag is gone. A 401 or 403 here is more likely an expired
      // credential than a deleted repository, so the cached tag stays.
      if (error instanceof ManifestNotFoundError && !(error instanceof UpstreamRefusedError)) {
        await this.cache.dropTag(target.localName, tag);

        throw error;
      }

      const isUpstreamFailure =
        error instanceof UpstreamUnavailableError ||
        error instanceof UpstreamRateLimitedError ||
        error instanceof UpstreamRefusedError;

      if (!isUpstreamFailure) {
        throw error;
      }

      this.clients.markFailed(target.upstream);

      if (error instanceof UpstreamRefusedError) {
        this.statistics.error(target.upstream.prefix, target.localName, 'refused');
      } else {
        this.statistics.failure(target.upstream.prefix, target.localName, error);
      }

      return { ...(await this.serveCached(target, cached, withBody)), warning: staleWarning };
    }

    if (current?.digest === cached.digest) {
      await this.cache.markTagChecked(target.localName, tag);

      return this.serveCached(target, cached, withBody);
    }

    return this.fetch(target, tag, tag);
  }

  private async serveCached(
    target: UpstreamTarget,
    manifest: ManifestRecord,
    withBody: boolean,
  ): Promise<ManifestContent> {
    const content: ManifestContent = {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.size,
    };

    if (withBody) {
      content.bytes = await this.blobs.readSmall(Digest.parse(manifest.digest));

      // The row outlived its bytes (removed by hand or a disk error), so report the manifest as unknown.
      if (content.bytes === undefined) {
        throw new ManifestNotFoundError(manifest.digest);
      }
    }

    this.statistics.hit(target.upstream.prefix, target.localName, withBody ? manifest.size : 0);
    this.statistics.pulled(target.localName, manifest.digest, 'manifest');

    return content;
  }

  /**
   * Asks the upstream for a manifest's headers. Returns undefined when the response lacks a digest, so
   * the caller falls back to a GET; throws ManifestNotFoundError when the upstream has no such manifest.
   */
  private head(target: UpstreamTarget, reference: string): Promise<ManifestContent | undefined> {
    return this.heads.run(`${target.localName}|${reference}`, async () => {
      const response = await this.clients.for(target.upstream).manifest('HEAD', target.remoteName, reference);

      response.body.resume();
      this.assertFound(target, reference, response);

      const digest = response.headers['docker-content-digest'];
      const mediaType = mediaTypeOf(response);
      const size = Number(response.headers['content-length']);

      if (
        digest === undefined ||
        !Digest.isValid(digest) ||
        mediaType === undefined ||
        !Number.isSafeInteger(size)
      ) {
        return undefined;
      }

      return { digest, mediaType, size };
    });
  }

  /** Fetches a manifest, verifies its digest and stores it byte for byte, tagged when `tag` is given. */
  private fetch(target: UpstreamTarget, reference: string, tag?: string): Promise<ManifestContent> {
    return this.fetches.run(`${target.localName}|${reference}`, async () => {
      const response = await this.clients.for(target.upstream).manifest('GET', target.remoteName, reference);

      this.assertFound(target, reference, response);

      const bytes = await readSmallBody(response.body, maxManifestBytes).catch((error: unknown) => {
        throw this.invalid(target, `manifest body failed: ${(error as Error).message}`);
      });
      const mediaType = mediaTypeOf(response);
      const digest = this.verifiedDigest(target, reference, bytes, response.headers['docker-content-digest']);
      const parsed = this.parse(target, bytes, mediaType);

      await this.hooks?.admit({
        repository: target.localName,
        digest: digest.toString(),
        mediaType: parsed.mediaType,
        bytes,
        tag,
        subjectDigest: parsed.subject?.digest,
        artifactType: parsed.artifactType,
      });
      await this.uploads.writeBytes(bytes, digest, () =>
        this.cache.saveFetchedManifest({
          manifest: {
            repository: target.localName,
            digest: digest.toString(),
            mediaType: parsed.mediaType,
            size: bytes.length,
            artifactType: parsed.artifactType,
            subjectDigest: parsed.subject?.digest ?? null,
            annotations: parsed.annotations,
          },
          references: parsed.references,
          tags: tag === undefined ? [] : [tag],
        }),
      );
      this.statistics.miss(target.upstream.prefix, target.localName, bytes.length);
      this.statistics.pulled(target.localName, digest.toString(), 'manifest');
      this.hooks?.stored({
        repository: target.localName,
        digest: digest.toString(),
        mediaType: parsed.mediaType,
        origin: 'cache',
      });

      return { digest: digest.toString(), mediaType: parsed.mediaType, size: bytes.length, bytes };
    });
  }

  /** Computes the digest of fetched bytes and checks it against the reference and the upstream's header. */
  private verifiedDigest(target: UpstreamTarget, reference: string, bytes: Buffer, header?: string): Digest {
    const expected = Digest.isValid(reference) ? Digest.parse(reference) : undefined;
    const actual = Digest.of(bytes, expected?.algorithm ?? 'sha256');

    if (expected && !expected.equals(actual)) {
      throw this.invalid(target, `manifest ${reference} arrived with digest ${actual.toString()}`);
    }

    if (header !== undefined && header.startsWith(`${actual.algorithm}:`) && header !== actual.toString()) {
      throw this.invalid(target, `manifest digest ${actual.toString()} differs from the announced ${header}`);
    }

    return actual;
  }

  private parse(target: UpstreamTarget, bytes: Buffer, mediaType: string | undefined) {
    try {
      return parseManifest(bytes, mediaType);
    } catch (error) {
      throw this.invalid(target, `upstream manifest rejected: ${(error as Error).message}`);
    }
  }

  /** Treats 404, and the 401 or 403 some registries send for a repository that does not exist, as absent. */
  private assertFound(target: UpstreamTarget, reference: string, response: UpstreamResponse): void {
    if (![401, 403, 404].includes(response.status)) {
      if (response.status !== 200) {
        throw this.invalid(target, `manifest request returned ${response.status}`);
      }

      return;
    }

    response.body.resume();
    this.clients.rememberNotFound(target.upstream, `${target.localName}|${reference}`);
    this.statistics.notFound(target.upstream.prefix, target.localName);

    throw response.status === 404
      ? new ManifestNotFoundError(reference)
      : new UpstreamRefusedError(reference);
  }

  private assertNotKnownMissing(target: UpstreamTarget, reference: string): void {
    if (this.clients.isKnownNotFound(target.upstream, `${target.localName}|${reference}`)) {
      this.statistics.notFound(target.upstream.prefix, target.localName);

      throw new ManifestNotFoundError(reference);
    }
  }

  private invalid(target: UpstreamTarget, reason: string): UpstreamUnavailableError {
    return new UpstreamUnavailableError(target.upstream.prefix, 'invalid-response', reason);
  }
}

function mediaTypeOf(response: UpstreamResponse): string | undefined {
  return response.headers['content-type']?.split(';')[0].trim() || undefined;
}

/** A 401 or 403 from the upstream: "not found" to a client, but no proof that a cached tag is gone. */
class UpstreamRefusedError extends ManifestNotFoundError {}
