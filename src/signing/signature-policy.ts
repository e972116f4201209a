import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';

import { PullRefusedByPolicyError } from '../common/domain-errors.js';
import { globToPattern } from '../common/glob.js';
import { type CacheCandidate, ManifestHooks, type ServedManifest } from '../common/manifest-hooks.js';
import { isIndexMediaType } from '../common/media-types.js';
import { RootLogger } from '../common/root-logger.js';
import { WharfConfig } from '../config/config.schema.js';
import { SigningStore } from '../metadata/stores/signing.store.js';
import { isArtifactManifest } from '../common/artifact-manifests.js';
import { SignatureFetcher } from './signature-fetcher.js';
import { type SignatureVerdict, SignatureVerifier } from './signature-verifier.service.js';

/**
 * Requires a verified signature to pull images in the repositories of a `signing.policies` rule and
 * under every `onlySigned` upstream prefix. An image passes when its own signature verified, or when an
 * index of the same repository that lists it did, because cosign and notation sign the digest a tag
 * names, which for a multi-platform image is the index. Indexes pass, so that a client can choose a
 * platform, and each image it then pulls is judged.
 */
@Injectable()
export class SignaturePolicy implements OnModuleInit {
  private readonly rules: { glob: string; pattern: RegExp }[];
  private readonly onlySigned: Set<string>;

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @Inject(ManifestHooks) private readonly hooks: ManifestHooks,
    @Inject(SigningStore) private readonly store: SigningStore,
    @Inject(SignatureVerifier) private readonly verifier: SignatureVerifier,
    @Inject(SignatureFetcher) private readonly fetcher: SignatureFetcher,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {
    this.rules = config.signing.policies
      .filter((rule) => rule.requireVerified)
      .map((rule) => ({ glob: rule.repositories, pattern: globToPattern(rule.repositories) }));
    this.onlySigned = new Set(
      config.upstreams.filter((upstream) => upstream.onlySigned).map((upstream) => upstream.prefix),
    );
  }

  onModuleInit(): void {
    if (this.rules.length > 0 || this.onlySigned.size > 0) {
      this.hooks.addPullCheck((manifest) => this.check(manifest));
    }

    if (this.onlySigned.size > 0) {
      this.hooks.addCacheAdmission((candidate) => this.admit(candidate));
    }
  }

  /** Tells whether pulls from `repository` need a verified signature. */
  requires(repository: string): boolean {
    return (
      this.onlySignedPrefix(repository) !== undefined ||
      this.rules.some((rule) => rule.pattern.test(repository))
    );
  }

  /** Throws PullRefusedByPolicyError when the image needs a verified signature and has none. */
  check(manifest: ServedManifest): void {
    if (
      isIndexMediaType(manifest.mediaType) ||
      !this.requires(manifest.repository) ||
      this.verifier.isVerified(manifest.repository, manifest.digest) ||
      isArtifactManifest(manifest.bytes)
    ) {
      return;
    }

    const verdict = this.verifier.verdict(manifest.repository, manifest.digest);

    if (this.passes(verdict)) {
      return;
    }

    this.logger.warn(
      {
        requestId: manifest.requestId,
        repository: manifest.repository,
        digest: manifest.digest,
        state: verdict.state,
      },
      'pull refused by signature policy',
    );

    const prefix = this.onlySignedPrefix(manifest.repository);

    throw prefix !== undefined
      ? PullRefusedByPolicyError.forUnsignedUpstreamImage(
          manifest.repository,
          manifest.digest,
          prefix,
          explain(verdict),
        )
      : PullRefusedByPolicyError.forSignature(
          manifest.repository,
          manifest.digest,
          this.rules.find((rule) => rule.pattern.test(manifest.repository))?.glob ?? manifest.repository,
          explain(verdict),
        );
  }

  /**
   * Lets an image of an `onlySigned` upstream into the cache only when its signatures verify. Its
   * signatures and other referrers are fetched from the upstream into the cache first. Signature
   * manifests and indexes are let in, because they are judged by what they sign.
   */
  private async admit(candidate: CacheCandidate): Promise<void> {
    const prefix = this.onlySignedPrefix(candidate.repository);

    if (prefix === undefined || this.fetcher.isSignatureArtifact(candidate)) {
      return;
    }

    await this.fetcher.fetchSignatures(candidate.repository, candidate.digest);

    const verdict = await this.verifier.evaluate(candidate.repository, candidate.digest);

    if (isIndexMediaType(candidate.mediaType) || this.passes(verdict)) {
      return;
    }

    this.logger.warn(
      { repository: candidate.repository, digest: candidate.digest, state: verdict.state },
      'image not cached: its upstream is onlySigned and no signature verified',
    );

    throw PullRefusedByPolicyError.forUnsignedUpstreamImage(
      candidate.repository,
      candidate.digest,
      prefix,
      explain(verdict),
    );
  }

  /** Returns the upstream prefix of `repository` when that upstream is `onlySigned`. */
  private onlySignedPrefix(repository: string): string | undefined {
    const slash = repository.indexOf('/');
    const prefix = slash === -1 ? undefined : repository.slice(0, slash);

    return prefix !== undefined && this.onlySigned.has(prefix) ? prefix : undefined;
  }

  private passes(verdict: SignatureVerdict): boolean {
    if (verdict.state === 'verified' && verdict.current) {
      return true;
    }

    return this.store.hasVerifiedParent(verdict.repository, verdict.digest);
  }
}

/** Says why an image's signatures do not let it through. */
function explain(verdict: SignatureVerdict): string {
  if (verdict.state === 'verified') {
    return 'its signatures are being checked again after a change of trust; retry in a moment';
  }

  if (verdict.state === 'unsigned') {
    return 'the image has no signature (no cosign signature tag and no signature referrer)';
  }

  const reasons = [...new Set(verdict.signatures.map((signature) => signature.reason).filter(Boolean))];

  return `none of its ${verdict.signatures.length} signature(s) verified: ${reasons.slice(0, 3).join('; ')}`;
}
