import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';

/** The media types of trusted_root.json that `parseTrustedRoot` reads. */
export const trustedRootMediaTypes: readonly string[] = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

/** The time range in which a key or certificate authority of the trusted root may be used. */
export interface ValidityWindow {
  /** Undefined when the trusted root gives no start, which means "since always". */
  start?: Date;
  /** Undefined while the key or authority is still in use. */
  end?: Date;
}

/** A transparency log (Rekor) or certificate transparency log and the key its entries are signed with. */
export interface TransparencyLog {
  baseUrl: string;
  /** The log id: SHA-256 of the DER public key, which Rekor entries and checkpoints refer to. */
  logId: Buffer;
  key: KeyObject;
  validFor: ValidityWindow;
}

/** A certificate authority (Fulcio) or timestamp authority, with its chain from the issuer up to the root. */
export interface CertificateAuthority {
  uri: string;
  /** The issuing certificate first and the self-signed root last, as trusted_root.json lists them. */
  certificates: X509Certificate[];
  validFor: ValidityWindow;
}

/** The parsed trusted root: what offline verification of sigstore bundles trusts. */
export interface SigstoreTrustedRoot {
  tlogs: TransparencyLog[];
  certificateAuthorities: CertificateAuthority[];
  ctlogs: TransparencyLog[];
  timestampAuthorities: CertificateAuthority[];
}

/**
 * Reads a sigstore trusted root (`trusted_root.json`, as sigstore's TUF repository publishes it) from
 * parsed JSON or its text. Throws an Error that names the invalid field, such as
 * `tlogs[0].publicKey.rawBytes`, because a trusted root that is only partly read would silently trust less.
 */
export function parseTrustedRoot(json: unknown): SigstoreTrustedRoot {
  const root = typeof json === 'string' || Buffer.isBuffer(json) ? parseText(json) : json;

  if (!isObject(root)) {
    throw new Error('trusted root is not a JSON object');
  }

  if (typeof root.mediaType !== 'string' || !trustedRootMediaTypes.includes(root.mediaType)) {
    throw new Error(
      `trusted root mediaType ${JSON.stringify(root.mediaType)} is not supported; expected one of ${trustedRootMediaTypes.join(', ')}`,
    );
  }

  return {
    tlogs: listOf(root, 'tlogs', readLog),
    certificateAuthorities: listOf(root, 'certificateAuthorities', readAuthority),
    ctlogs: listOf(root, 'ctlogs', readLog),
    timestampAuthorities: listOf(root, 'timestampAuthorities', readAuthority),
  };
}

/**
 * Builds a transparency log entry from a PEM public key alone, like cosign's `rekor.pub`, for trusting
 * one Rekor key without a whole trusted root. The log id is SHA-256 of the key's DER form, as Rekor
 * computes it, and the key is valid at all times.
 */
export function transparencyLogFromKey(pem: string, baseUrl = ''): TransparencyLog {
  const key = createPublicKey(pem);
  const der = key.export({ type: 'spki', format: 'der' });

  return { baseUrl, logId: createHash('sha256').update(der).digest(), key, validFor: {} };
}

/** Tells whether `time` falls inside the window, both ends included. */
export function isWithin(window: ValidityWindow, time: Date): boolean {
  if (window.start !== undefined && time < window.start) {
    return false;
  }

  return window.end === undefined || time <= window.end;
}

/** Decodes strict standard base64 with padding, or returns undefined: Node's decoder skips invalid characters. */
export function decodeBase64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return undefined;
  }

  return Buffer.from(text, 'base64');
}

function parseText(text: string | Buffer): unknown {
  try {
    return JSON.parse(text.toString());
  } catch (error) {
    throw new Error(`trusted root is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function listOf<T>(
  root: Record<string, unknown>,
  field: string,
  read: (item: unknown, where: string) => T,
): T[] {
  const items = root[field];

  if (items === undefined) {
    return [];
  }

  if (!Array.isArray(items)) {
    throw new Error(`trusted root ${field} is not an array`);
  }

  return items.map((item, index) => read(item, `${field}[${index}]`));
}

function readLog(item: unknown, where: string): TransparencyLog {
  const log = objectAt(item, where);
  const publicKey = objectAt(log.publicKey, `${where}.publicKey`);
  const der = bytesAt(publicKey.rawBytes, `${where}.publicKey.rawBytes`);
  const logId = bytesAt(objectAt(log.logId, `${where}.logId`).keyId, `${where}.logId.keyId`);
  let key: KeyObject;

  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (error) {
    throw new Error(`trusted root ${where}.publicKey.rawBytes is not a DER public key`, { cause: error });
  }

  return {
    baseUrl: typeof log.baseUrl === 'string' ? log.baseUrl : '',
    logId,
    key,
    validFor: windowAt(publicKey.validFor, `${where}.publicKey.validFor`),
  };
}

function readAuthority(item: unknown, where: string): CertificateAuthority {
  const authority = objectAt(item, where);
  const chain = objectAt(authority.certChain, `${where}.certChain`);

  if (!Array.isArray(chain.certificates) || chain.certificates.length === 0) {
    throw new Error(`trusted root ${where}.certChain.certificates is not a non-empty array`);
  }

  const certificates = chain.certificates.map((entry: unknown, index) => {
    const field = `${where}.certChain.certificates[${index}].rawBytes`;
    const der = bytesAt(objectAt(entry, field).rawBytes, field);

    try {
      return new X509Certificate(der);
    } catch (error) {
      throw new Error(`trusted root ${field} is not a DER X.509 certificate`, { cause: error });
    }
  });

  return {
    uri: typeof authority.uri === 'string' ? authority.uri : '',
    certificates,
    validFor: windowAt(authority.validFor, `${where}.validFor`),
  };
}

function windowAt(value: unknown, where: string): ValidityWindow {
  if (value === undefined) {
    return {};
  }

  const window = objectAt(value, where);

  return { start: dateAt(window.start, `${where}.start`), end: dateAt(window.end, `${where}.end`) };
}

function dateAt(value: unknown, where: string): Date | undefined {
  if (value === undefined) {
    return undefined;
  }

  const time = typeof value === 'string' ? new Date(value) : undefined;

  if (time === undefined || Number.isNaN(time.getTime())) {
    throw new Error(`trusted root ${where} is not an RFC 3339 time: ${JSON.stringify(value)}`);
  }

  return time;
}

function bytesAt(value: unknown, where: string): Buffer {
  const bytes = decodeBase64(value);

  if (bytes === undefined || bytes.length === 0) {
    throw new Error(`trusted root ${where} is missing or not base64`);
  }

  return bytes;
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (!isObject(value)) {
    throw new Error(`trusted root ${where} is missing or not an object`);
  }

  return value;
}

/** Tells whether a parsed JSON value is an object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
