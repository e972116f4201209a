import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';

import { companionSubject, isArtifactManifest, parseObject } from '../common/artifact-manifests.js';
import { Digest } from '../common/digest.js';
import { ManifestNotFoundError } from '../common/domain-errors.js';
import type { CacheCandidate } from '../common/manifest-hooks.js';
import { isIndexMediaType } from '../common/media-types.js';
import { RootLogger } from '../common/root-logger.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import { RegistryReader } from '../distribution/services/registry-reader.js';
import { kindOfArtifact, maxSignatureBytes } from './signature-verifier.service.js';

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  artifactType?: unknown;
}

/**
 * Fetches the signatures and other referrers of an upstream image into the cache, through the same
 * reader `/v2` uses, so that they are stored, counted and served like any cached content. That is
 * cosign's `sha256-<hex>.sig` tag with its layers, and each referrer the upstream lists with the layers
 * of signature referrers. Referrers come from the referrers API, or from the referrers tag schema of
 * registries without it.
 */
@Injectable()
export class SignatureFetcher {
  constructor(
    @Inject(RegistryReader) private readonly registry: RegistryReader,
    @Inject(ContentReader) private readonly content: ContentReader,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {}

  /**
   * Tells whether a fetched manifest is a signature or another artifact about an image, or a referrers
   * tag-schema index, rather than an image the cache must judge.
   */
  isSignatureArtifact(candidate: CacheCandidate): boolean {
    if (isArtifactManifest(candidate.bytes)) {
      return true;
    }

    return (
      isIndexMediaType(candidate.mediaType) &&
      candidate.tag !== undefined &&
      companionSubject(candidate.tag) !== undefined
    );
  }

  /** Fetches what signs `digest` in `repository` into the cache; failures are logged, not thrown. */
  async fetchSignatures(repository: string, digest: string): Promise<void> {
    const hex = digest.slice(digest.indexOf(':') + 1);

    await this.fetchTagged(repository, `sha256-${hex}.sig`, true);

    const listed = await this.referrers(repository, digest);

    for (const referrer of listed) {
      await this.attempt(repository, referrer.digest, async () => {
        const manifest = await this.content.manifest(repository, Digest.parse(referrer.digest));

        if (kindOfArtifact(referrer.artifactType) !== undefined && manifest.bytes !== undefined) {
          await this.fetchLayers(repository, manifest.bytes);
        }
      });
    }
  }

  /** Lists referrers through the upstream; without the referrers API, through the tag schema's index. */
  private async referrers(
    repository: string,
    digest: string,
  ): Promise<{ digest: string; artifactType: string | null }[]> {
    try {
      const listed = await this.registry.listReferrers(repository, Digest.parse(digest));

      if (listed.length > 0) {
        return listed.map((record) => ({ digest: record.digest, artifactType: record.artifactType }));
      }
    } catch (error) {
      this.logger.warn({ err: error, repository, digest }, 'listing referrers at the upstream failed');
    }

    const index = await this.fetchTagged(repository, digest.replace(':', '-'), false);
    const body =
      index?.bytes === undefined || !isIndexMediaType(index.mediaType) ? undefined : parseObject(index.bytes);
    const manifests = Array.isArray(body?.manifests) ? (body.manifests as Descriptor[]) : [];

    return manifests.flatMap((entry) =>
      typeof entry.digest === 'string' && Digest.isValid(entry.digest)
        ? [
            {
              digest: entry.digest,
              artifactType: typeof entry.artifactType === 'string' ? entry.artifactType : null,
            },
          ]
        : [],
    );
  }

  private async fetchTagged(repository: string, tag: string, withLayers: boolean) {
    try {
      const manifest = await this.registry.getManifest(repository, { tag }, true);

      if (withLayers && manifest.bytes !== undefined) {
        await this.fetchLayers(repository, manifest.bytes);
      }

      return manifest;
    } catch (error) {
      if (!(error instanceof ManifestNotFoundError)) {
        this.logger.warn({ err: error, repository, tag }, 'fetching a signature from the upstream failed');
      }

      return undefined;
    }
  }

  /** Fetches the small layers of a signature manifest: the signatures, envelopes or bundles. */
  private async fetchLayers(repository: string, bytes: Buffer): Promise<void> {
    const body = parseObject(bytes);
    const layers = Array.isArray(body?.layers) ? (body.layers as (Descriptor & { size?: unknown })[]) : [];

    for (const layer of layers) {
      if (
        typeof layer.digest === 'string' &&
        Digest.isValid(layer.digest) &&
        Number(layer.size) <= maxSignatureBytes
      ) {
        const digest = layer.digest;

        await this.attempt(repository, digest, () =>
          this.content.blob(repository, Digest.parse(digest), maxSignatureBytes),
        );
      }
    }
  }

  private async attempt(repository: string, digest: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.warn({ err: error, repository, digest }, 'fetching a signature from the upstream failed');
    }
  }
}
