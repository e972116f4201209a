/**
 * Test support for the sigstore specs. It builds X.509 certificates with node:crypto keys, because Node
 * can read certificates but not issue them. Only the DER the verifier reads is written: version 3,
 * ECDSA-with-SHA256 signatures, UTC times, and the extensions Fulcio certificates carry. It also
 * builds RFC 6962 Merkle trees and checkpoints for inclusion proofs.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';

/** A key pair and certificate that can issue further test certificates. */
export interface TestIssuer {
  name: string;
  privateKey: KeyObject;
  certificate: X509Certificate;
}

/** What a test certificate states. Times are Date values; `ca` marks a certificate authority. */
export interface TestCertificateOptions {
  /** The subject common name; omitted for Fulcio-style leaves, whose subject is empty. */
  commonName?: string;
  publicKey: KeyObject;
  /** The issuer; the certificate is self-signed with `selfKey` when omitted. */
  issuer?: TestIssuer;
  selfKey?: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  uri?: string;
  email?: string;
  /** The OIDC issuer, written to Fulcio's extension 1.3.6.1.4.1.57264.1.8 (or .1.1 with `legacyIssuer`). */
  oidcIssuer?: string;
  legacyIssuer?: boolean;
}

function element(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  let length: Buffer;

  if (body.length < 0x80) {
    length = Buffer.from([body.length]);
  } else {
    const bytes = Buffer.from(body.length.toString(16).padStart(body.length > 0xffff ? 6 : 4, '0'), 'hex');

    length = Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
  }

  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...contents: Buffer[]): Buffer => element(0x30, ...contents);

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];

  for (const arc of rest) {
    const groups = [arc & 0x7f];

    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      groups.unshift((value & 0x7f) | 0x80);
    }

    bytes.push(...groups);
  }

  return element(0x06, Buffer.from(bytes));
}

function name(commonName?: string): Buffer {
  if (commonName === undefined) {
    return sequence();
  }

  return sequence(element(0x31, sequence(oid('2.5.4.3'), element(0x0c, Buffer.from(commonName)))));
}

function utcTime(time: Date): Buffer {
  const text = time.toISOString().replace(/[-:T]/g, '').slice(2, 14);

  return element(0x17, Buffer.from(`${text}Z`));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  const flag = critical ? [element(0x01, Buffer.from([0xff]))] : [];

  return sequence(oid(id), ...flag, element(0x04, value));
}

function extensionsFor(options: TestCertificateOptions): Buffer[] {
  const extensions: Buffer[] = [];

  if (options.ca === true) {
    extensions.push(extension('2.5.29.19', true, sequence(element(0x01, Buffer.from([0xff])))));
    // keyUsage keyCertSign and cRLSign: BIT STRING with 1 unused bit, bits 5 and 6.
    extensions.push(extension('2.5.29.15', true, element(0x03, Buffer.from([0x01, 0x06]))));

    return extensions;
  }

  // keyUsage digitalSignature, and extended key usage codeSigning as Fulcio issues.
  extensions.push(extension('2.5.29.15', true, element(0x03, Buffer.from([0x07, 0x80]))));
  extensions.push(extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.3'))));

  const names: Buffer[] = [];

  if (options.email !== undefined) {
    names.push(element(0x81, Buffer.from(options.email)));
  }

  if (options.uri !== undefined) {
    names.push(element(0x86, Buffer.from(options.uri)));
  }

  if (names.length > 0) {
    extensions.push(extension('2.5.29.17', true, sequence(...names)));
  }

  if (options.oidcIssuer !== undefined) {
    const issuer = Buffer.from(options.oidcIssuer);

    extensions.push(
      options.legacyIssuer === true
        ? extension('1.3.6.1.4.1.57264.1.1', false, issuer)
        : extension('1.3.6.1.4.1.57264.1.8', false, element(0x0c, issuer)),
    );
  }

  return extensions;
}

let serial = 1;

/** Issues a certificate signed by `issuer`, or self-signed by `selfKey`. */
export function issueCertificate(options: TestCertificateOptions): X509Certificate {
  const algorithm = sequence(oid('1.2.840.10045.4.3.2'));
  const signingKey = options.issuer?.privateKey ?? options.selfKey;

  if (signingKey === undefined) {
    throw new Error('a test certificate needs an issuer or a selfKey');
  }

  serial += 1;

  const tbs = sequence(
    element(0xa0, element(0x02, Buffer.from([2]))),
    element(0x02, Buffer.from([0x01, serial & 0xff, (serial >> 8) & 0xff])),
    algorithm,
    name(options.issuer === undefined ? options.commonName : options.issuer.name),
    sequence(utcTime(options.notBefore), utcTime(options.notAfter)),
    name(options.commonName),
    options.publicKey.export({ type: 'spki', format: 'der' }),
    element(0xa3, sequence(...extensionsFor(options))),
  );
  const signature = sign('sha256', tbs, signingKey);

  return new X509Certificate(sequence(tbs, algorithm, element(0x03, Buffer.from([0]), signature)));
}

/** Creates a self-signed P-256 root CA valid over the given time range. */
export function createTestRoot(commonName: string, notBefore: Date, notAfter: Date): TestIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certificate = issueCertificate({
    commonName,
    publicKey,
    selfKey: privateKey,
    notBefore,
    notAfter,
    ca: true,
  });

  return { name: commonName, privateKey, certificate };
}

function sha256(...parts: Buffer[]): Buffer {
  return createHash('sha256').update(Buffer.concat(parts)).digest();
}

/** The RFC 6962 leaf hash of an entry. */
export function merkleLeafHash(entry: Buffer): Buffer {
  return sha256(Buffer.from([0]), entry);
}

function largestPowerOfTwoBelow(size: number): number {
  let split = 1;

  while (split * 2 < size) {
    split *= 2;
  }

  return split;
}

/** The RFC 6962 Merkle tree hash of a list of entries (at least one), computed by its recursive definition. */
export function merkleRoot(entries: Buffer[]): Buffer {
  if (entries.length === 1) {
    return merkleLeafHash(entries[0]);
  }

  const split = largestPowerOfTwoBelow(entries.length);

  return sha256(Buffer.from([1]), merkleRoot(entries.slice(0, split)), merkleRoot(entries.slice(split)));
}

/** The RFC 6962 audit path of the entry at `index`, by the recursive definition. */
export function merklePath(index: number, entries: Buffer[]): Buffer[] {
  if (entries.length === 1) {
    return [];
  }

  const split = largestPowerOfTwoBelow(entries.length);

  if (index < split) {
    return [...merklePath(index, entries.slice(0, split)), merkleRoot(entries.slice(split))];
  }

  return [...merklePath(index - split, entries.slice(split)), merkleRoot(entries.slice(0, split))];
}

/** Writes a checkpoint signed note for a tree, signed by a log key whose log id is `logId`. */
export function signCheckpoint(size: number, root: Buffer, privateKey: KeyObject, logId: Buffer): string {
  const body = `rekor.test - 1\n${size}\n${root.toString('base64')}\n`;
  const signature = Buffer.concat([logId.subarray(0, 4), sign('sha256', Buffer.from(body), privateKey)]);

  return `${body}\n\u2014 rekor.test ${signature.toString('base64')}\n`;
}
