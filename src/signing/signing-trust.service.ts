import { createHash, type X509Certificate } from 'node:crypto';
import { basename } from 'node:path';

import { Inject, Injectable } from '@nestjs/common';

import { WharfConfig } from '../config/config.schema.js';
import { SigningStore, type TrustKind } from '../metadata/stores/signing.store.js';
import { loadPublicKey, type TrustedKey } from './cosign-signature.js';
import type { NotationTrust } from './notation.js';
import { parseTrustPolicy, type NotationTrustPolicyDocument } from './notation-trust-policy.js';
import type { SigstoreTrust } from './sigstore-bundle.js';
import { parseTrustedRoot } from './sigstore-trusted-root.js';
import {
  readCertificates,
  readJson,
  readTrustFile,
  TrustMaterialError,
  trustNamePattern,
  trustStoreNamePattern,
} from './trust-files.js';

export { TrustMaterialError } from './trust-files.js';

/** The origin of a piece of trust: the config file, the admin API, or Wharf's default. */
export type TrustSource = 'config' | 'api' | 'default';

/** A public key as the admin API shows it. */
export interface KeyView {
  name: string;
  source: TrustSource;
  type: string;
  /** SHA-256 of the key's DER (SubjectPublicKeyInfo), in hex. */
  fingerprint: string;
  createdBy?: string | null;
  createdAt?: string;
}

/** A trusted certificate as the admin API shows it. */
export interface CertificateView {
  name: string;
  source: TrustSource;
  subject: string;
  issuer: string;
  /** SHA-256 of the certificate's DER, in hex. */
  fingerprint: string;
  validFrom: string;
  validTo: string;
  createdBy?: string | null;
  createdAt?: string;
}

/** Everything signatures are checked against, read from the config file and the admin API's uploads. */
export interface TrustSnapshot {
  /** A hash of all trust material; a stored verdict with another generation is out of date. */
  generation: string;
  cosignKeys: TrustedKey[];
  sigstore: SigstoreTrust;
  notation: NotationTrust;
  view: TrustView;
}

/** The trust as the admin API shows it. */
export interface TrustView {
  generation: string;
  cosign: { keys: KeyView[]; trustedRoot: boolean; identities: { subject: string; issuer: string }[] };
  notation: {
    trustStores: { name: string; certificates: CertificateView[] }[];
    trustPolicy: { source: TrustSource; document: NotationTrustPolicyDocument };
  };
}

/**
 * The trust that signatures are checked against: cosign public keys, a sigstore trusted root with
 * keyless identities, notation trust stores and a notation trust policy. The config file names files,
 * read at start and on `reload`; admins add and remove more through the admin API, stored in the
 * metadata database. Every change builds a new snapshot and notifies the listeners, which check stored
 * signatures again.
 */
@Injectable()
export class SigningTrust {
  private snapshot: TrustSnapshot | undefined;
  private readonly listeners: ((snapshot: TrustSnapshot) => void)[] = [];

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(SigningStore) private readonly store: SigningStore,
  ) {}

  /** The current trust; `load` must have run. */
  current(): TrustSnapshot {
    if (this.snapshot === undefined) {
      throw new Error('the signing trust was used before it was loaded');
    }

    return this.snapshot;
  }

  onChange(listener: (snapshot: TrustSnapshot) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reads the config file's trust files and the uploaded material again and builds a new snapshot.
   * Throws TrustMaterialError naming the file or entry that cannot be used; the snapshot before stays.
   */
  async load(): Promise<TrustSnapshot> {
    const uploaded = await this.store.trustEntries();
    const builder = new SnapshotBuilder();
    const signing = this.config.signing;

    for (const path of signing.cosign.publicKeys) {
      builder.addKey(basename(path), readTrustFile(path, 'signing.cosign.publicKeys'), 'config');
    }

    for (const [store, paths] of Object.entries(signing.notation.trustStores)) {
      for (const path of paths) {
        const pem = readTrustFile(path, `signing.notation.trustStores.${store}`);

        builder.addCertificates(store, basename(path), pem, 'config');
      }
    }

    for (const entry of uploaded) {
      const origin = { createdBy: entry.createdBy, createdAt: new Date(entry.createdAt).toISOString() };

      if (entry.kind === 'cosign-key') {
        builder.addKey(entry.name, entry.content, 'api', origin);
      } else if (entry.kind === 'notation-certificate') {
        const slash = entry.name.indexOf('/');

        builder.addCertificates(
          entry.name.slice(0, slash),
          entry.name.slice(slash + 1),
          entry.content,
          'api',
          origin,
        );
      }
    }

    const policyEntry = uploaded.find((entry) => entry.kind === 'notation-policy');
    const trustedRoot =
      signing.cosign.trustedRoot === undefined
        ? undefined
        : readJson(
            readTrustFile(signing.cosign.trustedRoot, 'signing.cosign.trustedRoot'),
            'signing.cosign.trustedRoot',
          );

    if (policyEntry !== undefined) {
      builder.setPolicy(readJson(policyEntry.content, 'the uploaded trust policy'), 'api');
    } else if (signing.notation.trustPolicy !== undefined) {
      const path = signing.notation.trustPolicy;

      builder.setPolicy(readJson(readTrustFile(path, 'signing.notation.trustPolicy'), path), 'config');
    }

    const snapshot = builder.build(trustedRoot, signing.cosign.identities);

    this.snapshot = snapshot;

    for (const listener of this.listeners) {
      listener(snapshot);
    }

    return snapshot;
  }

  /** Adds or replaces an uploaded public key after checking that it can verify cosign signatures. */
  async putKey(name: string, pem: string, user: string | undefined): Promise<TrustSnapshot> {
    checkName(name, 'key');
    this.rejectConfigured(this.current().view.cosign.keys, name, 'key');

    try {
      loadPublicKey(name, pem);
    } catch (error) {
      throw new TrustMaterialError((error as Error).message);
    }

    return this.put('cosign-key', name, pem, user);
  }

  /** Adds or replaces an uploaded certificate (or several, as one PEM file) in a notation trust store. */
  async putCertificate(
    store: string,
    name: string,
    pem: string,
    user: string | undefined,
  ): Promise<TrustSnapshot> {
    checkStoreName(store);
    checkName(name, 'certificate');

    const existing = this.current().view.notation.trustStores.find((entry) => entry.name === store);

    this.rejectConfigured(existing?.certificates ?? [], name, 'certificate');
    readCertificates(`${store}/${name}`, pem);

    return this.put('notation-certificate', `${store}/${name}`, pem, user);
  }

  /** Replaces the notation trust policy with an uploaded one, after validating it. */
  async putPolicy(document: unknown, user: string | undefined): Promise<TrustSnapshot> {
    let parsed: NotationTrustPolicyDocument;

    try {
      parsed = parseTrustPolicy(document);
    } catch (error) {
      throw new TrustMaterialError(`the trust policy is not valid: ${(error as Error).message}`);
    }

    const stores = this.current().notation.stores;
    const missing = parsed.trustPolicies
      .flatMap((policy) => policy.trustStores)
      .find((store) => !stores.has(store));

    if (missing !== undefined) {
      throw new TrustMaterialError(
        `the trust policy names the trust store ${missing}, which has no certificates; add them first (PUT /api/v1/signing/notation/trust-stores/${missing}/certificates/NAME) or fix the policy`,
      );
    }

    return this.put('notation-policy', 'policy', JSON.stringify(document), user);
  }

  /** Removes uploaded material; returns undefined when there was none of that kind and name. */
  async remove(kind: TrustKind, name: string): Promise<TrustSnapshot | undefined> {
    if (kind === 'notation-certificate') {
      this.rejectEmptyingNamedStore(name);
    }

    if (!(await this.store.deleteTrust(kind, name))) {
      return undefined;
    }

    return this.load();
  }

  /**
   * Refuses to remove the last certificate of a trust store the trust policy names, because every
   * signature its policies cover would then fail.
   */
  private rejectEmptyingNamedStore(name: string): void {
    const snapshot = this.current();
    const store = name.slice(0, name.indexOf('/'));
    const certificates =
      snapshot.view.notation.trustStores.find((entry) => entry.name === store)?.certificates ?? [];
    const others = certificates.filter(
      (certificate) =>
        certificate.name !== name.slice(store.length + 1) &&
        !certificate.name.startsWith(`${name.slice(store.length + 1)}#`),
    );
    // The default policy names whatever stores exist, so only a configured or uploaded one counts.
    const named =
      snapshot.view.notation.trustPolicy.source !== 'default' &&
      snapshot.notation.policy.trustPolicies.some((policy) => policy.trustStores.includes(store));

    if (named && certificates.length > 0 && others.length === 0) {
      throw new TrustMaterialError(
        `${name} is the last certificate of ${store}, which the trust policy names; change the policy first, or add another certificate`,
      );
    }
  }

  private async put(kind: TrustKind, name: string, content: string, user: string | undefined) {
    await this.store.putTrust({ kind, name, content, createdBy: user ?? null, createdAt: Date.now() }, true);

    return this.load();
  }

  private rejectConfigured(
    entries: readonly { name: string; source: TrustSource }[],
    name: string,
    label: string,
  ) {
    if (entries.some((entry) => entry.name === name && entry.source === 'config')) {
      throw new TrustMaterialError(
        `the ${label} ${name} comes from the config file; choose another name, or change the config file`,
      );
    }
  }
}

/** Collects trust material and builds a snapshot with its generation. */
class SnapshotBuilder {
  private readonly keys: TrustedKey[] = [];
  private readonly keyViews: KeyView[] = [];
  private readonly stores = new Map<string, X509Certificate[]>();
  private readonly storeViews = new Map<string, CertificateView[]>();
  private policy: { source: TrustSource; document: NotationTrustPolicyDocument } | undefined;
  private readonly hash = createHash('sha256');

  addKey(
    name: string,
    pem: string,
    source: TrustSource,
    origin?: Pick<KeyView, 'createdBy' | 'createdAt'>,
  ): void {
    let key: TrustedKey;

    try {
      key = loadPublicKey(name, pem);
    } catch (error) {
      throw new TrustMaterialError((error as Error).message);
    }

    const der = key.key.export({ type: 'spki', format: 'der' });

    this.keys.push(key);
    this.keyViews.push({
      name,
      source,
      type: describeKey(key),
      fingerprint: createHash('sha256').update(der).digest('hex'),
      ...origin,
    });
    this.hash.update(`key\u0000${name}\u0000`).update(der);
  }

  addCertificates(
    store: string,
    name: string,
    pem: string,
    source: TrustSource,
    origin?: Pick<CertificateView, 'createdBy' | 'createdAt'>,
  ): void {
    const certificates = readCertificates(`${store}/${name}`, pem);
    const views = this.storeViews.get(store) ?? [];

    this.stores.set(store, [...(this.stores.get(store) ?? []), ...certificates]);
    this.storeViews.set(store, views);

    for (const [index, certificate] of certificates.entries()) {
      views.push({
        name: certificates.length === 1 ? name : `${name}#${index + 1}`,
        source,
        subject: certificate.subject.replaceAll('\n', ', '),
        issuer: certificate.issuer.replaceAll('\n', ', '),
        fingerprint: certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
        validFrom: new Date(certificate.validFrom).toISOString(),
        validTo: new Date(certificate.validTo).toISOString(),
        ...origin,
      });
      this.hash.update(`certificate\u0000${store}\u0000`).update(certificate.raw);
    }
  }

  setPolicy(document: unknown, source: TrustSource): void {
    try {
      this.policy = { source, document: parseTrustPolicy(document) };
    } catch (error) {
      throw new TrustMaterialError(`the notation trust policy is not valid: ${(error as Error).message}`);
    }
  }

  build(trustedRootJson: unknown, identities: readonly { subject: string; issuer: string }[]): TrustSnapshot {
    let trustedRoot;

    try {
      trustedRoot = trustedRootJson === undefined ? undefined : parseTrustedRoot(trustedRootJson);
    } catch (error) {
      throw new TrustMaterialError(`signing.cosign.trustedRoot is not valid: ${(error as Error).message}`);
    }

    const policy = this.policy ?? { source: 'default' as const, document: this.defaultPolicy() };
    const plainIdentities = identities.map(({ subject, issuer }) => ({ subject, issuer }));

    this.hash.update(`policy\u0000${JSON.stringify(policy.document)}`);
    this.hash.update(`root\u0000${JSON.stringify(trustedRootJson ?? null)}`);
    this.hash.update(`identities\u0000${JSON.stringify(plainIdentities)}`);

    const generation = this.hash.digest('hex');

    return {
      generation,
      cosignKeys: this.keys,
      sigstore: { keys: this.keys, trustedRoot, identities: plainIdentities },
      notation: { policy: policy.document, stores: this.stores },
      view: {
        generation,
        cosign: { keys: this.keyViews, trustedRoot: trustedRoot !== undefined, identities: plainIdentities },
        notation: {
          trustStores: [...this.storeViews].map(([name, certificates]) => ({ name, certificates })),
          trustPolicy: policy,
        },
      },
    };
  }

  /** Without a trust policy, every repository is checked strictly against every store, with any identity. */
  private defaultPolicy(): NotationTrustPolicyDocument {
    return parseTrustPolicy({
      version: '1.0',
      trustPolicies: [
        {
          name: 'wharf-default',
          registryScopes: ['*'],
          signatureVerification: { level: this.stores.size === 0 ? 'skip' : 'strict' },
          trustStores: this.stores.size === 0 ? [] : [...this.stores.keys()],
          trustedIdentities: this.stores.size === 0 ? [] : ['*'],
        },
      ],
    });
  }
}

function describeKey({ key }: TrustedKey): string {
  const details = key.asymmetricKeyDetails;

  if (key.asymmetricKeyType === 'ec') {
    return `ECDSA ${details?.namedCurve ?? ''}`.trim();
  }

  if (key.asymmetricKeyType === 'rsa') {
    return `RSA ${details?.modulusLength ?? ''}`.trim();
  }

  return 'Ed25519';
}

function checkName(name: string, label: string): void {
  if (!trustNamePattern.test(name)) {
    throw new TrustMaterialError(
      `the ${label} name ${JSON.stringify(name)} must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit`,
    );
  }
}

function checkStoreName(store: string): void {
  if (!trustStoreNamePattern.test(store)) {
    throw new TrustMaterialError(
      `the trust store name ${JSON.stringify(store)} must be "ca:<name>", "signingAuthority:<name>" or "tsa:<name>"`,
    );
  }
}
