import { Module } from '@nestjs/common';

import { DistributionModule } from '../distribution/distribution.module.js';
import { SignatureFetcher } from './signature-fetcher.js';
import { SignaturePolicy } from './signature-policy.js';
import { SignatureVerifier } from './signature-verifier.service.js';
import { SigningTrust } from './signing-trust.service.js';

/**
 * Image signing. Cosign signatures, sigstore bundles and notation signatures stored next to each image
 * are checked offline against configured and uploaded trust, giving one verdict per image and
 * repository. Policies require a verified signature to pull, or to cache from an upstream.
 */
@Module({
  imports: [DistributionModule],
  providers: [SigningTrust, SignatureVerifier, SignatureFetcher, SignaturePolicy],
  exports: [SigningTrust, SignatureVerifier, SignaturePolicy],
})
export class SigningModule {}
