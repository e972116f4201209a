import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ValidateBy } from 'class-validator';

import { trustNamePattern, trustStoreNamePattern } from '../signing/trust-files.js';

const sources = ['config', 'api', 'default'];
const states = ['verified', 'unverified', 'unsigned'];
const kinds = ['cosign', 'sigstore-bundle', 'notation'];

export class KeyView {
  @ApiProperty({ example: 'release.pub' }) name: string;
  @ApiProperty({ enum: sources }) source: string;
  @ApiProperty({ example: 'ECDSA prime256v1' }) type: string;
  @ApiProperty({ description: "SHA-256 of the key's DER (SubjectPublicKeyInfo), in hex." })
  fingerprint: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Who uploaded it.' }) createdBy?:
    string | null;
  @ApiPropertyOptional({ type: String, format: 'date-time' }) createdAt?: string;
}

export class CertificateView {
  @ApiProperty({ example: 'release-root.pem' }) name: string;
  @ApiProperty({ enum: sources }) source: string;
  @ApiProperty({ example: 'C=US, O=Example, CN=Release Root' }) subject: string;
  @ApiProperty() issuer: string;
  @ApiProperty({ description: "SHA-256 of the certificate's DER, in hex." }) fingerprint: string;
  @ApiProperty({ type: String, format: 'date-time' }) validFrom: string;
  @ApiProperty({ type: String, format: 'date-time' }) validTo: string;
  @ApiPropertyOptional({ type: String, nullable: true }) createdBy?: string | null;
  @ApiPropertyOptional({ type: String, format: 'date-time' }) createdAt?: string;
}

export class IdentityView {
  @ApiProperty({ example: 'https://github.com/example/app/.github/workflows/release.yml@refs/heads/main' })
  subject: string;

  @ApiProperty({ example: 'https://token.actions.githubusercontent.com' }) issuer: string;
}

export class CosignTrustView {
  @ApiProperty({ type: [KeyView] }) keys: KeyView[];
  @ApiProperty({ description: 'Whether a sigstore trusted root is configured.' }) trustedRoot: boolean;
  @ApiProperty({ type: [IdentityView], description: 'Keyless signers whose bundles are trusted.' })
  identities: IdentityView[];
}

export class TrustStoreView {
  @ApiProperty({ example: 'ca:release' }) name: string;
  @ApiProperty({ type: [CertificateView] }) certificates: CertificateView[];
}

export class TrustPolicyView {
  @ApiProperty({ enum: sources, description: 'default: every repository, every trust store, any identity.' })
  source: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The notation trust policy document.',
  })
  document: object;
}

export class NotationTrustView {
  @ApiProperty({ type: [TrustStoreView] }) trustStores: TrustStoreView[];
  @ApiProperty({ type: () => TrustPolicyView }) trustPolicy: TrustPolicyView;
}

export class TrustView {
  @ApiProperty({
    description: 'A hash of all trust material; verdicts checked under another one are out of date.',
  })
  generation: string;

  @ApiProperty({ type: () => CosignTrustView }) cosign: CosignTrustView;
  @ApiProperty({ type: () => NotationTrustView }) notation: NotationTrustView;
}

export class SignatureView {
  @ApiProperty({ enum: kinds }) kind: string;
  @ApiProperty({ description: 'The digest of the manifest that carries the signature.' }) manifest: string;
  @ApiPropertyOptional({ description: 'The cosign signature tag, sha256-<hex>.sig.' }) tag?: string;
  @ApiPropertyOptional({ description: 'The layer holding the signature, envelope or bundle.' })
  layer?: string;
  @ApiProperty() verified: boolean;
  @ApiPropertyOptional({ description: 'The reason it is not verified.' }) reason?: string;
  @ApiPropertyOptional({ description: 'The key name or certificate identity that verified it.' })
  signer?: string;
  @ApiPropertyOptional({ type: String, format: 'date-time' }) signingTime?: string;

  @ApiProperty({
    type: [String],
    description: 'What offline verification did not check, such as revocation.',
  })
  notes: string[];
}

export class SignatureVerdictView {
  @ApiProperty() repository: string;
  @ApiProperty() digest: string;

  @ApiProperty({
    enum: states,
    description:
      'verified: a signature verified; unverified: signed, but no signature verified (see each reason); unsigned: no signature stored.',
  })
  state: string;

  @ApiProperty({
    description: 'True when an index of the repository that lists this image has a verified signature.',
  })
  verifiedThroughIndex: boolean;

  @ApiProperty({ type: [SignatureView] }) signatures: SignatureView[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) evaluatedAt: string | null;

  @ApiProperty({
    description: 'False while the signatures wait to be checked again after a change of trust.',
  })
  current: boolean;

  @ApiProperty({
    description: 'Whether pulls of this manifest need a verified signature; never for an artifact.',
  })
  required: boolean;

  @ApiProperty({
    description:
      'True for a signature or another artifact about an image (a referrer whose artifact type is not an image config, or a manifest of cosign signature or attestation layers), which pull policies never refuse.',
  })
  artifact: boolean;
}

/** The short form of a verdict on tag and repository listings, for badges. */
export class SignatureSummaryView {
  @ApiProperty({ enum: states }) state: string;
  @ApiPropertyOptional({ description: 'The key or identity of the first verified signature.' })
  signer?: string;
}

const nameMessage =
  'must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit';

function IsTrustName(label: string): PropertyDecorator {
  return ValidateBy({
    name: 'isTrustName',
    validator: {
      validate: (value) => typeof value === 'string' && trustNamePattern.test(value),
      defaultMessage: () => `${label} ${nameMessage}`,
    },
  });
}

export class KeyParams {
  @ApiProperty({ example: 'release.pub' })
  @IsTrustName('the key name')
  name: string;
}

export class CertificateParams {
  @ApiProperty({
    example: 'ca:release',
    description: 'The trust store: ca:<name>, signingAuthority:<name> or tsa:<name>.',
  })
  @ValidateBy({
    name: 'isTrustStore',
    validator: {
      validate: (value) => typeof value === 'string' && trustStoreNamePattern.test(value),
      defaultMessage: () => 'the trust store must be "ca:<name>", "signingAuthority:<name>" or "tsa:<name>"',
    },
  })
  store: string;

  @ApiProperty({ example: 'release-root.pem' })
  @IsTrustName('the certificate name')
  name: string;
}
