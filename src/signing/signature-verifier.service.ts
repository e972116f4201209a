import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';

import { ActivityObserver } from '../common/activity-observer.js';
import { parseObject } from '../common/artifact-manifests.js';
import { Digest } from '../common/digest.js';
import { BlobNotFoundError } from '../common/domain-errors.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import { ManifestHooks, type StoredManifest } from '../common/manifest-hooks.js';
import { isIndexMediaType } from '../common/media-types.js';
import { RootLogger } from '../common/root-logger.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import {
  signatureArtifactTypes,
  SigningStore,
  type SignatureVerdictRow,
} from '../metadata/stores/signing.store.js';
import { ManifestStore } from '../metadata/stores/manifest.store.js';
import { checkCosignTransparencyLog } from './cosign-rekor.js';
import { cosignLayerMediaType, verifyCosignSignature } from './cosign-signature.js';
import { verifyNotationSignature } from './notation.js';
import { verifySigstoreBundle } from './sigstore-bundle.js';
import { SigningTrust, type TrustSnapshot } from './signing-trust.service.js';

/** The signature formats Wharf checks. */
export type SignatureKind = 'cosign' | 'sigstore-bundle' | 'notation';

/** One signature of an image and what checking it showed. */
export interface SignatureOutcome {
  kind: SignatureKind;
  /** The digest of the manifest that carries the signature. */
  manifest: string;
  /** The tag of a cosign signature manifest, `sha256-<hex>.sig`. */
  tag?: string;
  /** The digest of the layer that contains the signature or envelope. */
  layer?: string;
  verified: boolean;
  /** The reason the signature is not verified. */
  reason?: string;
  /** The key name or certificate identity that verified it. */
  signer?: string;
  /** When it was signed, as the signature claims or a transparency log attests. */
  signingTime?: string;
  /** Checks that offline verification did not make, such as revocation. */
  notes: string[];
}

/** Whether an image is signed and whether a signature verified. */
export type SignatureState = 'verified' | 'unverified' | 'unsigned';

/** The signature verdict of an image in one repository. */
export interface SignatureVerdict {
  repository: string;
  digest: string;
  state: SignatureState;
  signatures: SignatureOutcome[];
  /** When the signatures were last checked; null for an image never checked (and so unsigned). */
  evaluatedAt: string | null;
  /** False when the trust changed since and a new check is due or under way. */
  current: boolean;
}

/** The largest signature layer read: envelopes and bundles are a few kilobytes. */
export const maxSignatureBytes = 1024 * 1024;

/** Layer media types of cosign signatures, notation envelopes and sigstore bundles. */ const bundleLayerTypes =
  new Set([
    'application/vnd.dev.sigstore.bundle.v0.3+json',
    'application/vnd.dev.sigstore.bundle+json;version=0.3',
    'application/vnd.dev.sigstore.bundle+json;version=0.2',
    'application/vnd.dev.sigstore.bundle+json;version=0.1',
  ]);
const notationLayerTypes = new Set(['application/jose+json', 'application/cose']);

interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

/** The parts of a signature manifest the checks read. */
interface SignatureManifest {
  digest: string;
  mediaType: string;
  layers: LayerDescriptor[];
}

/**
 * Checks the signatures of images against the trust of SigningTrust and keeps one verdict per image and
 * repository. Signatures are found where clients write them: cosign's `sha256-<hex>.sig` tag in the
 * image's repository, and OCI referrers of the image (notation signatures, sigstore bundles, cosign
 * signatures pushed as referrers). An image is checked again when a signature of it is stored, and every
 * signed image when the trust changes.
 */
@Injectable()
export class SignatureVerifier implements OnModuleInit, OnApplicationBootstrap {
  private readonly mutex = new KeyedMutex();
  private reevaluation: Promise<void> | null = null;
  private reevaluateAgain = false;

  constructor(
    @Inject(SigningTrust) private readonly trust: SigningTrust,
    @Inject(ContentReader) private readonly reader: ContentReader,
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(SigningStore) private readonly store: SigningStore,
    @Inject(ManifestHooks) private readonly hooks: ManifestHooks,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {}

  /** Loads the trust; a configured file that cannot be used stops the start with its name and problem. */
  async onModuleInit(): Promise<void> {
    await this.trust.load();
    this.hooks.onStored((manifest) => this.onStored(manifest));
    this.hooks.onRemoved((repository) => this.onRemoved(repository));
  }

  /** Checks again, in the background, every signed image whose verdict predates the current trust. */
  onApplicationBootstrap(): void {
    this.trust.onChange(() => void this.reevaluateAll());
    void this.reevaluateAll();
  }

  /** Returns the stored verdict of an image; an image never checked is unsigned. */
  verdict(repository: string, digest: string): SignatureVerdict {
    return this.view(repository, digest, this.store.verdictOf(repository, digest));
  }

  /**
   * Tells whether an image has a verified signature under the current trust. It reads only the cached
   * verdict row, so that the pull path parses nothing for a verified image.
   */
  isVerified(repository: string, digest: string): boolean {
    const row = this.store.verdictOf(repository, digest);

    return row?.state === 'verified' && row.trustGeneration === this.trust.current().generation;
  }

  /** Returns the stored verdicts of several images in one repository, by digest. */
  verdicts(repository: string, digests: readonly string[]): Map<string, SignatureVerdict> {
    const rows = this.store.verdictsOf(repository, digests);

    return new Map(digests.map((digest) => [digest, this.view(repository, digest, rows.get(digest))]));
  }

  /** Checks an image's signatures now, against the current trust, and stores the verdict. */
  evaluate(repository: string, digest: string): Promise<SignatureVerdict> {
    return this.mutex.run(`${repository}@${digest}`, async () => {
      const snapshot = this.trust.current();
      const signatures = await this.check(repository, digest, snapshot);
      const row: SignatureVerdictRow = {
        repository,
        digest,
        state: stateOf(signatures),
        signatures: JSON.stringify(signatures),
        trustGeneration: snapshot.generation,
        evaluatedAt: Date.now(),
      };

      await this.store.saveVerdict(row);

      for (const signature of signatures) {
        this.activity.recordSignatureCheck(signature.kind, signature.verified);
      }

      this.logger.info(
        { repository, digest, state: row.state, signatures: signatures.length },
        'image signatures checked',
      );

      return this.view(repository, digest, row);
    });
  }

  /**
   * Checks again every image that has a verdict or a stored signature and whose verdict predates the
   * current trust. A change during a pass starts one more pass after it.
   */
  reevaluateAll(): Promise<void> {
    if (this.reevaluation !== null) {
      this.reevaluateAgain = true;

      return this.reevaluation;
    }

    this.reevaluation = (async () => {
      do {
        this.reevaluateAgain = false;
        await this.reevaluatePass();
      } while (this.reevaluateAgain);
    })().finally(() => {
      this.reevaluation = null;
    });

    return this.reevaluation;
  }

  private async reevaluatePass(): Promise<void> {
    const generation = this.trust.current().generation;
    let checked = 0;

    for (const { repository, digest } of this.store.signedImages()) {
      if (this.store.verdictOf(repository, digest)?.trustGeneration === generation) {
        continue;
      }

      try {
        await this.evaluate(repository, digest);
        checked++;
      } catch (error) {
        this.logger.error({ err: error, repository, digest }, 'checking image signatures failed');
      }
    }

    if (checked > 0) {
      this.logger.info({ images: checked }, 'signatures checked again against the current trust');
    }
  }

  private onStored(manifest: StoredManifest): void {
    const subjects = this.store.signedBy(manifest.repository, manifest.digest);
    const images =
      subjects.length === 0 && this.store.hasSignatures(manifest.repository, manifest.digest)
        ? [manifest.digest]
        : subjects;

    for (const digest of images) {
      this.evaluate(manifest.repository, digest).catch((error: unknown) =>
        this.logger.error(
          { err: error, repository: manifest.repository, digest },
          'checking image signatures failed',
        ),
      );
    }
  }

  /** Checks again the images of a repository that lost a tag or manifest, which may have been a signature. */
  private onRemoved(repository: string): void {
    for (const digest of this.store.verdictDigests(repository)) {
      this.evaluate(repository, digest).catch((error: unknown) =>
        this.logger.error({ err: error, repository, digest }, 'checking image signatures failed'),
      );
    }
  }

  /** Finds and checks every signature of an image stored in `repository`. */
  private async check(repository: string, digest: string, trust: TrustSnapshot): Promise<SignatureOutcome[]> {
    const outcomes: SignatureOutcome[] = [];
    const tag = `${digest.replace(':', '-')}.sig`;
    const tagged = await this.manifests.resolveTag(repository, tag);

    if (tagged !== undefined) {
      outcomes.push(...(await this.checkManifest(repository, digest, tagged, 'cosign', trust, tag)));
    }

    const referrers = await this.manifests.referrers(repository, digest);

    for (const referrer of referrers) {
      const kind = kindOfArtifact(referrer.artifactType);

      if (kind !== undefined && referrer.digest !== tagged) {
        outcomes.push(...(await this.checkManifest(repository, digest, referrer.digest, kind, trust)));
      }
    }

    return outcomes;
  }

  /** Checks each signature layer of one signature manifest. */
  private async checkManifest(
    repository: string,
    subject: string,
    manifestDigest: string,
    kind: SignatureKind,
    trust: TrustSnapshot,
    tag?: string,
  ): Promise<SignatureOutcome[]> {
    const where = { kind, manifest: manifestDigest, ...(tag === undefined ? {} : { tag }) };
    const manifest = await this.readSignatureManifest(repository, manifestDigest);

    if (typeof manifest === 'string') {
      return [{ ...where, verified: false, reason: manifest, notes: [] }];
    }

    if (manifest.layers.length === 0) {
      return [{ ...where, verified: false, reason: 'the signature manifest has no layers', notes: [] }];
    }

    const outcomes: SignatureOutcome[] = [];

    for (const layer of manifest.layers) {
      const bytes = await this.readLayer(repository, layer);
      const at = { ...where, layer: layer.digest };

      if (typeof bytes === 'string') {
        outcomes.push({ ...at, verified: false, reason: bytes, notes: [] });
        continue;
      }

      outcomes.push({ ...at, ...this.checkLayer(repository, subject, layer, bytes, kind, trust) });
    }

    return outcomes;
  }

  private checkLayer(
    repository: string,
    subject: string,
    layer: LayerDescriptor,
    bytes: Buffer,
    kind: SignatureKind,
    trust: TrustSnapshot,
  ): Pick<SignatureOutcome, 'verified' | 'reason' | 'signer' | 'signingTime' | 'notes'> {
    if (kind === 'cosign' && layer.mediaType === cosignLayerMediaType) {
      const result = verifyCosignSignature(
        { payload: bytes, annotations: layer.annotations },
        subject,
        trust.cosignKeys,
      );

      if (!result.verified) {
        return { verified: false, reason: result.reason, notes: result.notes };
      }

      const log = checkCosignTransparencyLog(
        bytes,
        layer.annotations,
        result.notes,
        trust.sigstore.trustedRoot,
      );

      return {
        verified: true,
        signer: result.key,
        notes: log.notes,
        ...(log.signingTime === undefined ? {} : { signingTime: log.signingTime }),
      };
    }

    if ((kind === 'sigstore-bundle' || kind === 'cosign') && bundleLayerTypes.has(layer.mediaType)) {
      const result = verifySigstoreBundle(bytes, subject, trust.sigstore, new Date());

      return result.verified
        ? { verified: true, signer: result.signer, signingTime: result.signingTime, notes: result.notes }
        : { verified: false, reason: result.reason, notes: result.notes };
    }

    if (kind === 'notation' && notationLayerTypes.has(layer.mediaType)) {
      const result = verifyNotationSignature({
        envelopeMediaType: layer.mediaType,
        envelope: bytes,
        subjectDigest: subject,
        repository,
        trust: trust.notation,
        now: new Date(),
      });

      return result.verified
        ? {
            verified: true,
            signer: result.identity,
            signingTime: result.signingTime,
            notes: result.notes,
          }
        : { verified: false, reason: result.reason, notes: result.notes };
    }

    return {
      verified: false,
      reason: `the layer's media type ${JSON.stringify(layer.mediaType)} is not a ${kind} signature`,
      notes: [],
    };
  }

  /** Reads a signature manifest's layers; a string names why it cannot hold signatures. */
  private async readSignatureManifest(
    repository: string,
    digest: string,
  ): Promise<SignatureManifest | string> {
    const content = await this.reader.storedManifest(repository, Digest.parse(digest));

    if (content?.bytes === undefined) {
      return `the signature manifest ${digest} is not stored`;
    }

    if (isIndexMediaType(content.mediaType)) {
      return `${digest} is an index, not a signature manifest`;
    }

    const body = parseObject(content.bytes);
    const layers: unknown[] = Array.isArray(body?.layers) ? body.layers : [];

    return { digest, mediaType: content.mediaType, layers: layers.flatMap(layerOf) };
  }

  private async readLayer(repository: string, layer: LayerDescriptor): Promise<Buffer | string> {
    if (layer.size > maxSignatureBytes) {
      return `the signature layer ${layer.digest} has ${layer.size} bytes, more than the ${maxSignatureBytes} a signature may have`;
    }

    let digest: Digest;

    try {
      digest = Digest.parse(layer.digest);
    } catch {
      return `the signature layer digest ${JSON.stringify(layer.digest)} is not valid`;
    }

    try {
      // A layer an upstream sent a moment ago may still be on its way into the cache, so for cached
      // repositories this reads through the cache, which fetches it again when it is not stored yet.
      return await this.reader.blob(repository, digest, maxSignatureBytes);
    } catch (error) {
      if (error instanceof BlobNotFoundError) {
        return `the signature layer ${layer.digest} is not stored`;
      }

      return `the signature layer ${layer.digest} cannot be read: ${(error as Error).message}`;
    }
  }

  private view(repository: string, digest: string, row: SignatureVerdictRow | undefined): SignatureVerdict {
    if (row === undefined) {
      return { repository, digest, state: 'unsigned', signatures: [], evaluatedAt: null, current: true };
    }

    return {
      repository,
      digest,
      state: row.state as SignatureState,
      signatures: JSON.parse(row.signatures) as SignatureOutcome[],
      evaluatedAt: new Date(row.evaluatedAt).toISOString(),
      current: row.trustGeneration === this.trust.current().generation,
    };
  }
}

function stateOf(signatures: readonly SignatureOutcome[]): SignatureState {
  if (signatures.some((signature) => signature.verified)) {
    return 'verified';
  }

  return signatures.length === 0 ? 'unsigned' : 'unverified';
}

const signatureKinds = new Map<string, SignatureKind>([
  [signatureArtifactTypes[0], 'notation'],
  [signatureArtifactTypes[1], 'sigstore-bundle'],
  [signatureArtifactTypes[2], 'cosign'],
]);

/** Returns the signature format of a referrer's artifact type, or undefined for other artifacts such as SBOMs. */
export function kindOfArtifact(artifactType: string | null): SignatureKind | undefined {
  return artifactType === null ? undefined : signatureKinds.get(artifactType);
}

function layerOf(value: unknown): LayerDescriptor[] {
  if (typeof value !== 'object' || value === null) {
    return [];
  }

  const layer = value as Record<string, unknown>;
  const annotations =
    typeof layer.annotations === 'object' && layer.annotations !== null
      ? Object.fromEntries(
          Object.entries(layer.annotations).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string',
          ),
        )
      : {};

  return [
    {
      mediaType: typeof layer.mediaType === 'string' ? layer.mediaType : '',
      digest: typeof layer.digest === 'string' ? layer.digest : '',
      size: typeof layer.size === 'number' ? layer.size : 0,
      annotations,
    },
  ];
}
