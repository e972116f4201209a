import { constants, verify, X509Certificate } from 'node:crypto';

/** The outcome of checking one notation signature; `notes` name what offline checks left out. */
export type NotationCheck =
  | { verified: true; identity: string; signingTime: string; notes: string[] }
  | { verified: false; reason: string; notes: string[] };

/** JWS algorithms notation signs with, and the hash and key form each one uses. */
const algorithms: Record<string, { hash: string; pss: boolean }> = {
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
  ES256: { hash: 'sha256', pss: false },
  ES384: { hash: 'sha384', pss: false },
  ES512: { hash: 'sha512', pss: false },
};

/** Critical protected headers this check understands. */
const knownCritical = new Set(['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);

const offlineNotes = ['certificate revocation was not checked'];

interface ProtectedHeader {
  alg?: unknown;
  crit?: unknown;
  'io.cncf.notary.signingScheme'?: unknown;
  'io.cncf.notary.signingTime'?: unknown;
  'io.cncf.notary.expiry'?: unknown;
}

/**
 * Checks a notation signature in the JWS JSON serialization against a trust store of CA
 * certificates: the certificate chain in `x5c` must lead to a trusted certificate and be valid at the
 * signing time, the signature must be unexpired and verify over the protected header and payload,
 * and the payload must name `subjectDigest`. Every problem becomes a reason; nothing here throws.
 */
export function verifyNotationJws(
  envelope: Buffer,
  subjectDigest: string,
  trustStore: readonly X509Certificate[],
  now: Date = new Date(),
): NotationCheck {
  const fail = (reason: string): NotationCheck => ({ verified: false, reason, notes: offlineNotes });
  const parts = envelopeParts(envelope);

  if ('problem' in parts) {
    return fail(parts.problem);
  }

  const header = jsonOf<ProtectedHeader>(decodeBase64Url(parts.protected));

  if (header === undefined) {
    return fail('the protected header is not base64url JSON');
  }

  const algorithm = typeof header.alg === 'string' ? algorithms[header.alg] : undefined;

  if (algorithm === undefined) {
    return fail(`the algorithm ${JSON.stringify(header.alg)} is not one notation signs with`);
  }

  const critical: unknown[] = Array.isArray(header.crit) ? (header.crit as unknown[]) : [];
  const unknown = critical.find((name) => typeof name !== 'string' || !knownCritical.has(name));

  if (unknown !== undefined) {
    return fail(`the critical header ${JSON.stringify(unknown)} is not supported`);
  }

  if (header['io.cncf.notary.signingScheme'] !== 'notary.x509') {
    return fail(
      `the signing scheme ${JSON.stringify(header['io.cncf.notary.signingScheme'])} is not supported; only notary.x509 is`,
    );
  }

  const signingTime = dateOf(header['io.cncf.notary.signingTime']);

  if (signingTime === undefined) {
    return fail('the protected header has no valid io.cncf.notary.signingTime');
  }

  const expiry = header['io.cncf.notary.expiry'];

  if (expiry !== undefined && (dateOf(expiry)?.getTime() ?? 0) <= now.getTime()) {
    return fail(`the signature expired at ${JSON.stringify(expiry)}`);
  }

  const chain = chainProblem(parts.certificates, trustStore, signingTime);

  if (chain !== undefined) {
    return fail(chain);
  }

  const leaf = parts.certificates[0];
  const signed = Buffer.from(`${parts.protected}.${parts.payload}`, 'ascii');
  const signature = decodeBase64Url(parts.signature);

  if (signature === undefined || !checks(leaf, algorithm, signed, signature)) {
    return fail('the signature does not verify with the signing certificate');
  }

  const payload = jsonOf<{ targetArtifact?: { digest?: unknown } }>(decodeBase64Url(parts.payload));
  const digest = payload?.targetArtifact?.digest;

  if (typeof digest !== 'string') {
    return fail('the payload names no target artifact digest');
  }

  if (digest !== subjectDigest) {
    return fail(`the payload names the artifact ${digest}, not ${subjectDigest}`);
  }

  return {
    verified: true,
    identity: leaf.subject,
    signingTime: signingTime.toISOString(),
    notes: offlineNotes,
  };
}

/** Reads the envelope's parts and certificates, or why it cannot. */
function envelopeParts(
  envelope: Buffer,
):
  | { protected: string; payload: string; signature: string; certificates: X509Certificate[] }
  | { problem: string } {
  const json = jsonOf<{
    protected?: unknown;
    payload?: unknown;
    signature?: unknown;
    header?: { x5c?: unknown };
  }>(envelope);

  if (json === undefined) {
    return { problem: 'the envelope is not JSON' };
  }

  const { protected: protectedHeader, payload, signature } = json;

  if (typeof protectedHeader !== 'string' || typeof payload !== 'string' || typeof signature !== 'string') {
    return { problem: 'the envelope lacks protected, payload or signature' };
  }

  const x5c = json.header?.x5c;

  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((entry) => typeof entry === 'string')) {
    return { problem: 'the envelope has no x5c certificate chain' };
  }

  try {
    const certificates = x5c.map((entry) => new X509Certificate(Buffer.from(entry, 'base64')));

    return { protected: protectedHeader, payload, signature, certificates };
  } catch (error) {
    return { problem: `a certificate of the x5c chain cannot be read: ${(error as Error).message}` };
  }
}

/** Checks that each certificate is issued by the next, the last by a trusted one, all valid at `time`. */
function chainProblem(
  chain: readonly X509Certificate[],
  trustStore: readonly X509Certificate[],
  time: Date,
): string | undefined {
  for (const certificate of chain) {
    if (time < new Date(certificate.validFrom) || time > new Date(certificate.validTo)) {
      return `the certificate "${certificate.subject}" was not valid at the signing time ${time.toISOString()}`;
    }
  }

  for (let index = 0; index + 1 < chain.length; index++) {
    if (!issuedBy(chain[index], chain[index + 1])) {
      return `the certificate "${chain[index].subject}" is not issued by the next one in the chain`;
    }
  }

  const last = chain[chain.length - 1];
  const trusted = trustStore.some(
    (root) => root.fingerprint256 === last.fingerprint256 || issuedBy(last, root),
  );

  return trusted
    ? undefined
    : `the certificate chain of "${chain[0].subject}" leads to no certificate of the trust store`;
}

function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
}

function checks(
  leaf: X509Certificate,
  algorithm: { hash: string; pss: boolean },
  signed: Buffer,
  signature: Buffer,
): boolean {
  try {
    if (algorithm.pss) {
      return verify(
        algorithm.hash,
        signed,
        {
          key: leaf.publicKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        },
        signature,
      );
    }

    // JWS writes ECDSA signatures as the raw r and s values, not as DER.
    return verify(algorithm.hash, signed, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

function dateOf(value: unknown): Date | undefined {
  const date = typeof value === 'string' ? new Date(value) : undefined;

  return date !== undefined && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** Decodes strict base64url without padding, or returns undefined. */
function decodeBase64Url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, 'base64url') : undefined;
}

function jsonOf<T>(bytes: Buffer | undefined): T | undefined {
  if (bytes === undefined) {
    return undefined;
  }

  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));

    return typeof parsed === 'object' && parsed !== null ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}
