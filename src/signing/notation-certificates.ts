import { X509Certificate } from 'node:crypto';

/** The extended key usage notation requires of a signing certificate that lists any. */
const codeSigningUsage = '1.3.6.1.5.5.7.3.3';

/**
 * Reads the DER certificates of an `x5c` or `x5chain` header (named by `header` in messages), leaf
 * first, or returns why one cannot be read.
 */
export function readCertificateChain(
  ders: readonly Buffer[],
  header: string,
): X509Certificate[] | { problem: string } {
  if (ders.length === 0) {
    return { problem: `the ${header} certificate chain is empty` };
  }

  try {
    return ders.map((der) => new X509Certificate(der));
  } catch (error) {
    return { problem: `a certificate of the ${header} chain cannot be read: ${(error as Error).message}` };
  }
}

/**
 * Checks a certificate chain ordered leaf to root. Every certificate must be valid at `signingTime`
 * and be issued and signed by the next one. The last must be in the trust store or be issued and
 * signed by a CA certificate there. The leaf must allow code signing when it lists extended key
 * usages. Returns the trust store certificate the chain ends at, or the reason it is rejected.
 *
 * NOTE: notation's own test leaf has the same distinguished name as the root that issued it, so a
 * name match alone cannot tell a self-signed certificate from an issued one. Issuance is therefore
 * decided by the issuer's signature over the certificate, with the name check on top.
 */
export function verifyCertificateChain(
  chain: readonly X509Certificate[],
  trustStore: readonly X509Certificate[],
  signingTime: Date,
): { anchor: X509Certificate } | { problem: string } {
  const leaf = chain[0];
  const time = signingTime.toISOString();
  const invalid = chain.find((certificate) => !validAt(certificate, signingTime));

  if (invalid !== undefined) {
    return { problem: `the certificate "${subjectName(invalid)}" was not valid at the signing time ${time}` };
  }

  if (leaf.keyUsage !== undefined && !leaf.keyUsage.includes(codeSigningUsage)) {
    return { problem: `the signing certificate "${subjectName(leaf)}" does not allow code signing` };
  }

  for (let index = 0; index + 1 < chain.length; index++) {
    if (!issuedBy(chain[index], chain[index + 1])) {
      return {
        problem: `the certificate "${subjectName(chain[index])}" is not issued by the next one in the chain`,
      };
    }
  }

  const last = chain[chain.length - 1];
  const anchor =
    trustStore.find((root) => root.fingerprint256 === last.fingerprint256) ??
    trustStore.find((root) => issuedBy(last, root));

  if (anchor === undefined) {
    return {
      problem: `the certificate chain of "${subjectName(leaf)}" leads to no certificate of the trust store`,
    };
  }

  return { anchor };
}

/**
 * Returns the first certificate of `certificates` that is not valid at `time`, so a caller can tell
 * a certificate that has expired since the signing time.
 */
export function certificateInvalidAt(
  certificates: readonly X509Certificate[],
  time: Date,
): X509Certificate | undefined {
  return certificates.find((certificate) => !validAt(certificate, time));
}

function validAt(certificate: X509Certificate, time: Date): boolean {
  return time >= new Date(certificate.validFrom) && time <= new Date(certificate.validTo);
}

/** Tells whether `issuer` is a CA whose name and signature match `certificate`. */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return issuer.ca && certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Writes a certificate's subject on one line, as `C=US, O=Example, CN=signer`, for identities and reasons. */
export function subjectName(certificate: X509Certificate): string {
  return certificate.subject.replaceAll('\n', ', ');
}
