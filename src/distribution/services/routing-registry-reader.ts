import { Inject, Injectable } from '@nestjs/common';

import type { Digest } from '../../common/digest.js';
import type { Reference } from '../../common/reference.js';
import type { BlobContent, ManifestContent } from '../../common/registry-content.js';
import { PullTimes } from '../../metadata/pull-times.service.js';
import type { ManifestRecord, Page } from '../../metadata/records.js';
import { PullThroughBlobs } from '../../upstream/pull-through-blobs.service.js';
import { PullThroughListings } from '../../upstream/pull-through-listings.service.js';
import { PullThroughManifests } from '../../upstream/pull-through-manifests.service.js';
import { UpstreamRoutes } from '../../upstream/upstream-routes.js';
import { LocalRegistryReader } from './local-registry-reader.js';
import { RegistryReader } from './registry-reader.js';

/** Sends reads of names under an upstream prefix to the pull-through cache, and all others to local storage. */
@Injectable()
export class RoutingRegistryReader extends RegistryReader {
  constructor(
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(LocalRegistryReader) private readonly local: LocalRegistryReader,
    @Inject(PullThroughManifests) private readonly manifests: PullThroughManifests,
    @Inject(PullThroughBlobs) private readonly blobs: PullThroughBlobs,
    @Inject(PullThroughListings) private readonly listings: PullThroughListings,
    @Inject(PullTimes) private readonly pullTimes: PullTimes,
  ) {
    super();
  }

  async getManifest(name: string, reference: Reference, withBody: boolean): Promise<ManifestContent> {
    const target = this.routes.match(name);

    if (target) {
      return this.manifests.getManifest(target, reference, withBody);
    }

    const manifest = await this.local.getManifest(name, reference, withBody);

    // A GET is a pull; a HEAD only checks whether the manifest changed.
    if (withBody) {
      this.pullTimes.pulled(name, manifest.digest, 'manifest');
    }

    return manifest;
  }

  statBlob(name: string, digest: Digest): Promise<number> {
    const target = this.routes.match(name);

    return target ? this.blobs.statBlob(target, digest) : this.local.statBlob(name, digest);
  }

  fetchBlob(name: string, digest: Digest): Promise<BlobContent> {
    const target = this.routes.match(name);

    return target ? this.blobs.fetchBlob(target, digest) : this.local.fetchBlob(name, digest);
  }

  listTags(name: string, limit: number, last?: string): Promise<Page> {
    const target = this.routes.match(name);

    return target ? this.listings.listTags(target, limit, last) : this.local.listTags(name, limit, last);
  }

  listReferrers(name: string, digest: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    const target = this.routes.match(name);

    return target
      ? this.listings.listReferrers(target, digest, artifactType)
      : this.local.listReferrers(name, digest, artifactType);
  }
}
