import { X509Certificate } from 'node:crypto';

import { type CertificateAuthority, isWithin, type SigstoreTrustedRoot } from './sigstore-trusted-root.js';

/** Fulcio's OIDC issuer extension, whose value is the issuer URL as raw bytes (deprecated by Fulcio). */
const issuerV1Oid = '1.3.6.1.4.1.57264.1.1';
/** Fulcio's OIDC issuer extension, whose value is a DER UTF8String. */
const issuerV2Oid = '1.3.6.1.4.1.57264.1.8';
const subjectAltNameOid = '2.5.29.17';
const codeSigningOid = '1.3.6.1.5.5.7.3.3';

/** The identity a Fulcio certificate binds its key to. */
export interface CertificateIdentity {
  /** The subject alternative names that are URIs or email addresses, in certificate order. */
  subjects: string[];
  /** The OIDC issuer that authenticated the signer, or undefined when the certificate names none. */
  issuer?: string;
}

/** One element of DER: its tag byte and its contents. */
interface DerElement {
  tag: number;
  contents: Buffer;
}

/**
 * Reads the signer identity from a Fulcio certificate: URI and email subject alternative names and the
 * OIDC issuer extension. Throws an Error when the certificate's DER cannot be read.
 */
export function readCertificateIdentity(certificate: X509Certificate): CertificateIdentity {
  const extensions = readExtensions(certificate.raw);
  const names = extensions.get(subjectAltNameOid);
  const subjects: string[] = [];

  for (const name of names === undefined ? [] : children(readElement(names, 0).element.contents)) {
    // GeneralName is a context-specific tag: [1] rfc822Name and [6] uniformResourceIdentifier.
    if (name.tag === 0x81 || name.tag === 0x86) {
      subjects.push(name.contents.toString('utf8'));
    }
  }

  const v2 = extensions.get(issuerV2Oid);
  const v1 = extensions.get(issuerV1Oid);
  let issuer: string | undefined;

  if (v2 !== undefined) {
    issuer = readElement(v2, 0).element.contents.toString('utf8');
  } else if (v1 !== undefined) {
    issuer = v1.toString('utf8');
  }

  return { subjects, issuer };
}

/**
 * Checks that a leaf certificate was valid at `time`, may sign code, and chains by signature to a
 * certificate authority of the trusted root that was valid at `time`. Returns the reason it does not, or
 * undefined. Revocation is not checked, because Fulcio certificates are short-lived and have no CRL.
 */
export function checkCertificateChain(
  leaf: X509Certificate,
  trustedRoot: SigstoreTrustedRoot,
  time: Date,
): string | undefined {
  if (!validAt(leaf, time)) {
    return `the signing certificate was not valid at the signing time ${time.toISOString()} (valid from ${isoTime(leaf.validFrom)} to ${isoTime(leaf.validTo)})`;
  }

  if (leaf.ca) {
    return 'the signing certificate is a CA certificate';
  }

  const usages = leaf.keyUsage as string[] | undefined;

  if (usages !== undefined && !usages.includes(codeSigningOid)) {
    return 'the signing certificate does not allow code signing (extended key usage)';
  }

  const authorities = trustedRoot.certificateAuthorities.filter((authority) =>
    isWithin(authority.validFor, time),
  );

  if (authorities.some((authority) => chainsTo(leaf, authority, time))) {
    return undefined;
  }

  return `the signing certificate (issuer ${leaf.issuer.replaceAll('\n', ', ')}) does not chain to a certificate authority of the trusted root that was valid at ${time.toISOString()}`;
}

function chainsTo(leaf: X509Certificate, authority: CertificateAuthority, time: Date): boolean {
  let child = leaf;

  for (const parent of authority.certificates) {
    const issued = child.checkIssued(parent) && child.verify(parent.publicKey);

    if (!issued || !parent.ca || !validAt(parent, time)) {
      return false;
    }

    child = parent;
  }

  return true;
}

function validAt(certificate: X509Certificate, time: Date): boolean {
  return new Date(certificate.validFrom) <= time && time <= new Date(certificate.validTo);
}

function isoTime(text: string): string {
  const time = new Date(text);

  return Number.isNaN(time.getTime()) ? text : time.toISOString();
}

/** Reads the extensions of a DER certificate into a map from OID to the extension's value bytes. */
function readExtensions(der: Buffer): Map<string, Buffer> {
  const [tbs] = children(readElement(der, 0).element.contents);
  const wrapper = children(tbs.contents).find((element) => element.tag === 0xa3);
  const extensions = new Map<string, Buffer>();

  if (wrapper === undefined) {
    return extensions;
  }

  for (const extension of children(readElement(wrapper.contents, 0).element.contents)) {
    const parts = children(extension.contents);
    const oid = parts[0];
    const value = parts[parts.length - 1];

    if (oid?.tag === 0x06 && value?.tag === 0x04) {
      extensions.set(decodeOid(oid.contents), value.contents);
    }
  }

  return extensions;
}

function children(contents: Buffer): DerElement[] {
  const elements: DerElement[] = [];
  let offset = 0;

  while (offset < contents.length) {
    const { element, end } = readElement(contents, offset);

    elements.push(element);
    offset = end;
  }

  return elements;
}

/** Reads one DER element (single-byte tags, definite lengths only, as DER requires). */
function readElement(bytes: Buffer, offset: number): { element: DerElement; end: number } {
  if (offset + 2 > bytes.length) {
    throw new Error('DER element is truncated');
  }

  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;

  if (length >= 0x80) {
    const count = length & 0x7f;

    if (count === 0 || count > 4 || start + count > bytes.length) {
      throw new Error('DER length is invalid');
    }

    length = bytes.readUIntBE(start, count);
    start += count;
  }

  if (start + length > bytes.length) {
    throw new Error('DER element is truncated');
  }

  return { element: { tag, contents: bytes.subarray(start, start + length) }, end: start + length };
}

function decodeOid(bytes: Buffer): string {
  const arcs: number[] = [];
  let value = 0;

  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);

    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }

  const first = Math.min(Math.floor(arcs[0] / 40), 2);

  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}
