import { readFileSync } from 'node:fs';

import { Inject, Injectable } from '@nestjs/common';

import { WharfConfig } from '../config/config.schema.js';
import { parseDuration } from '../config/units.js';

/** One configured upstream with its durations parsed and its password read. */
export interface Upstream {
  prefix: string;
  /** Base URL without a trailing slash. */
  url: string;
  dockerHub: boolean;
  tagTtlMs: number;
  timeoutMs: number;
  notFoundTtlMs: number;
  tlsVerify: boolean;
  ca?: string;
  credentials?: { username: string; password: string };
}

/** Destination of a Wharf repository name: the upstream, the name there, and the local cache name. */
export interface UpstreamTarget {
  upstream: Upstream;
  /** The repository name at the upstream, with `library/` added for Docker Hub's one-segment names. */
  remoteName: string;
  /** The local repository the cache uses, `<prefix>/<remoteName>`, so both spellings share one entry. */
  localName: string;
}

/** Maps `/v2/<prefix>/<name>` repository names to configured upstreams. */
@Injectable()
export class UpstreamRoutes {
  private readonly byPrefix = new Map<string, Upstream>();

  constructor(@Inject(WharfConfig) config: WharfConfig) {
    for (const upstream of config.upstreams) {
      const password = upstream.passwordFile ? readFileSync(upstream.passwordFile, 'utf8').trim() : undefined;

      this.byPrefix.set(upstream.prefix, {
        prefix: upstream.prefix,
        url: upstream.url.replace(/\/+$/, ''),
        dockerHub: upstream.dockerHub,
        tagTtlMs: parseDuration(upstream.tagTtl) ?? 0,
        timeoutMs: parseDuration(upstream.timeout) ?? 30_000,
        notFoundTtlMs: parseDuration(upstream.notFoundTtl) ?? 0,
        tlsVerify: upstream.tlsVerify,
        ca: upstream.caFile ? readFileSync(upstream.caFile, 'utf8') : undefined,
        credentials:
          upstream.username !== undefined && password !== undefined
            ? { username: upstream.username, password }
            : undefined,
      });
    }
  }

  get all(): Upstream[] {
    return [...this.byPrefix.values()];
  }

  /** Returns the upstream behind a repository name, or undefined for a local repository. */
  match(name: string): UpstreamTarget | undefined {
    const slash = name.indexOf('/');

    if (slash === -1) {
      return undefined;
    }

    const upstream = this.byPrefix.get(name.slice(0, slash));

    if (!upstream) {
      return undefined;
    }

    const rest = name.slice(slash + 1);
    const remoteName = upstream.dockerHub && !rest.includes('/') ? `library/${rest}` : rest;

    return { upstream, remoteName, localName: `${upstream.prefix}/${remoteName}` };
  }
}
