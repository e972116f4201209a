import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import type { SigningConfig } from '../config/config.schema.js';
import { containsPrivateKey, loadPublicKey } from './cosign-signature.js';
import { parseTrustPolicy } from './notation-trust-policy.js';
import { parseTrustedRoot } from './sigstore-trusted-root.js';

/** Trust store names as notation's trust policies write them, such as `ca:release`. */
export const trustStoreNamePattern = /^(ca|signingAuthority|tsa):[A-Za-z0-9_.-]{1,100}$/;

/** Names of uploaded keys and certificates: safe in a URL path segment and in a report. */
export const trustNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Thrown when uploaded or configured trust material cannot be used; the message names it and the reason. */
export class TrustMaterialError extends Error {}

/** A trust file of the configuration that cannot be used, in the form config errors report. */
export interface TrustFileProblem {
  key: string;
  value: string;
  reason: string;
}

/** Reads a trust file the configuration names; throws TrustMaterialError naming the key and path. */
export function readTrustFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TrustMaterialError(`${key}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Parses JSON text; throws TrustMaterialError naming `source` when it is not JSON. */
export function readJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TrustMaterialError(`${source} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads every certificate of a PEM text. Throws TrustMaterialError when there is none, one cannot be
 * read, or the text also contains a private key, which must not be stored with trust material.
 */
export function readCertificates(name: string, pem: string): X509Certificate[] {
  if (containsPrivateKey(pem)) {
    throw new TrustMaterialError(`${name} contains a private key; give the certificates only`);
  }

  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

  if (blocks.length === 0) {
    throw new TrustMaterialError(`${name} contains no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }

  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TrustMaterialError(
        `${name}: certificate ${index + 1} cannot be read: ${(error as Error).message}`,
      );
    }
  });
}

/**
 * Reads and checks every trust file `signing` names, as `wharf config check` and the start of `serve`
 * do, and returns one problem per file that cannot be used: unreadable, not the key, certificates or
 * document it should be, or a private key.
 */
export function trustFileProblems(signing: SigningConfig): TrustFileProblem[] {
  const checks: { key: string; path: string; check: (text: string) => unknown }[] = [
    ...signing.cosign.publicKeys.map((path, index) => ({
      key: `signing.cosign.publicKeys.${index}`,
      path,
      check: (text: string) => loadPublicKey(basename(path), text),
    })),
    ...Object.entries(signing.notation.trustStores).flatMap(([store, paths]) =>
      paths.map((path, index) => ({
        key: `signing.notation.trustStores.${store}.${index}`,
        path,
        check: (text: string) => readCertificates(`${store}/${basename(path)}`, text),
      })),
    ),
  ];

  if (signing.cosign.trustedRoot !== undefined) {
    checks.push({
      key: 'signing.cosign.trustedRoot',
      path: signing.cosign.trustedRoot,
      check: (text) => parseTrustedRoot(readJson(text, 'the file')),
    });
  }

  const problems: TrustFileProblem[] = [];

  if (signing.cosign.identities.length > 0 && signing.cosign.trustedRoot === undefined) {
    problems.push({
      key: 'signing.cosign.identities',
      value: signing.cosign.identities.map((identity) => identity.subject).join(', '),
      reason:
        'keyless identities need signing.cosign.trustedRoot, the sigstore trusted root their certificates chain to',
    });
  }

  if (signing.notation.trustPolicy !== undefined) {
    const path = signing.notation.trustPolicy;

    checks.push({
      key: 'signing.notation.trustPolicy',
      path,
      check: (text) => {
        const document = parseTrustPolicy(readJson(text, 'the file'));
        const missing = document.trustPolicies
          .flatMap((policy) => policy.trustStores)
          .find((store) => signing.notation.trustStores[store] === undefined);

        if (missing !== undefined) {
          throw new Error(
            `the policy names the trust store ${missing}, which signing.notation.trustStores does not list`,
          );
        }
      },
    });
  }

  return [
    ...problems,
    ...checks.flatMap(({ key, path, check }) => {
      let text: string;

      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        return [
          {
            key,
            value: path,
            reason: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          },
        ];
      }

      try {
        check(text);

        return [];
      } catch (error) {
        return [{ key, value: path, reason: (error as Error).message }];
      }
    }),
  ];
}
