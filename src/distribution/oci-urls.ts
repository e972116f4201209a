import { Inject, Injectable } from '@nestjs/common';

import { WharfConfig } from '../config/config.schema.js';

/**
 * Builds every `Location` and `Link` URL of the `/v2` API: absolute from `http.externalUrl` when it is
 * set, otherwise absolute paths that clients resolve against the URL they called.
 */
@Injectable()
export class OciUrls {
  private readonly base: string;

  constructor(@Inject(WharfConfig) config: WharfConfig) {
    this.base = (config.http.externalUrl ?? '').replace(/\/+$/, '');
  }

  blob(name: string, digest: string): string {
    return `${this.base}/v2/${name}/blobs/${digest}`;
  }

  upload(name: string, uploadId: string): string {
    return `${this.base}/v2/${name}/blobs/uploads/${uploadId}`;
  }

  manifest(name: string, reference: string): string {
    return `${this.base}/v2/${name}/manifests/${reference}`;
  }

  /** A `Link` header value for the next page of a tags list or the catalog. */
  nextPage(path: string, limit: number, last: string): string {
    const query = new URLSearchParams({ n: String(limit), last });

    return `<${this.base}${path}?${query.toString()}>; rel="next"`;
  }

  tags(name: string): string {
    return `/v2/${name}/tags/list`;
  }

  catalog(): string {
    return '/v2/_catalog';
  }
}
