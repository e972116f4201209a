import { createHash } from 'node:crypto';

import { verifySignature } from './sigstore-signature.js';
import {
  decodeBase64,
  isObject,
  isWithin,
  type SigstoreTrustedRoot,
  type TransparencyLog,
} from './sigstore-trusted-root.js';

/**
 * A Rekor entry with its signed entry timestamp (SET), in the form the SET is computed over: `body` is
 * the base64 canonicalized entry, `integratedTime` is in seconds since the epoch, `logID` is hex.
 */
export interface RekorEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  /** The base64 ECDSA signature of the log over the canonical JSON of the four fields above. */
  signedEntryTimestamp: string;
}

/** The signature and digest the bundle itself records, to compare with what the Rekor entry recorded. */
export interface SignedContent {
  signature: Buffer;
  /** The digest of the signed message (messageSignature) or of the DSSE payload, with its algorithm. */
  digest: { algorithm: string; hex: string };
}

/**
 * Verifies a Rekor signed entry timestamp (the inclusion promise) with the trusted root's log whose log
 * id matches, and checks that the log's key was valid at `integratedTime`. The SET proves the log
 * accepted the entry at that time; it is not a Merkle inclusion proof.
 */
export function verifyRekorSignedEntryTimestamp(
  entry: RekorEntry,
  trustedRoot: SigstoreTrustedRoot,
): { verified: boolean; reason?: string } {
  const log = findLog(trustedRoot, entry.logID);

  if (log === undefined) {
    return {
      verified: false,
      reason: `no transparency log of the trusted root has the log id ${entry.logID}`,
    };
  }

  const time = new Date(entry.integratedTime * 1000);

  if (!Number.isSafeInteger(entry.integratedTime) || !isWithin(log.validFor, time)) {
    return {
      verified: false,
      reason: `the transparency log key was not valid at the integrated time ${entry.integratedTime}`,
    };
  }

  const signature = decodeBase64(entry.signedEntryTimestamp);

  if (signature === undefined || signature.length === 0) {
    return { verified: false, reason: 'the signed entry timestamp is not valid base64' };
  }

  // Rekor signs canonical JSON (RFC 8785): keys in sorted order, no spaces, integers as integers.
  const canonical = JSON.stringify({
    body: entry.body,
    integratedTime: entry.integratedTime,
    logID: entry.logID,
    logIndex: entry.logIndex,
  });

  if (!verifySignature(log.key, Buffer.from(canonical), signature)) {
    return {
      verified: false,
      reason: 'the signed entry timestamp does not verify with the transparency log key',
    };
  }

  return { verified: true };
}

/** Finds the transparency log of the trusted root with this hex log id. */
export function findLog(trustedRoot: SigstoreTrustedRoot, logId: string): TransparencyLog | undefined {
  return trustedRoot.tlogs.find((log) => log.logId.toString('hex') === logId.toLowerCase());
}

/**
 * Reads the `dev.sigstore.cosign/bundle` annotation of a classic cosign signature layer,
 * `{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}`, into a Rekor entry, or
 * returns why it cannot.
 */
export function readCosignRekorBundle(annotation: string): RekorEntry | { problem: string } {
  let parsed: unknown;

  try {
    parsed = JSON.parse(annotation);
  } catch {
    return { problem: 'the Rekor bundle annotation is not JSON' };
  }

  const payload = isObject(parsed) ? parsed.Payload : undefined;

  if (!isObject(parsed) || !isObject(payload)) {
    return { problem: 'the Rekor bundle annotation has no Payload object' };
  }

  const { body, integratedTime, logID, logIndex } = payload;

  if (
    typeof body !== 'string' ||
    typeof integratedTime !== 'number' ||
    typeof logID !== 'string' ||
    typeof logIndex !== 'number' ||
    typeof parsed.SignedEntryTimestamp !== 'string'
  ) {
    return {
      problem:
        'the Rekor bundle annotation lacks SignedEntryTimestamp or Payload.body, integratedTime, logID or logIndex',
    };
  }

  return { body, integratedTime, logID, logIndex, signedEntryTimestamp: parsed.SignedEntryTimestamp };
}

/**
 * Compares the signature and digest a Rekor entry body records with what the bundle signed. Reads the
 * entry kinds cosign and sigstore clients upload: hashedrekord 0.0.1, intoto 0.0.2 and dsse 0.0.1.
 * Returns the mismatch as a reason, or undefined when the entry records the same signature and digest.
 */
export function compareRekorBody(body: string, content: SignedContent): string | undefined {
  const decoded = decodeBase64(body);
  let entry: unknown;

  try {
    entry = JSON.parse(decoded?.toString('utf8') ?? '');
  } catch {
    return 'the transparency log entry body is not base64 JSON';
  }

  const kind = isObject(entry) ? `${String(entry.kind)} ${String(entry.apiVersion)}` : 'unknown';
  const spec = isObject(entry) && isObject(entry.spec) ? entry.spec : {};
  const recorded = recordedContent(kind, spec);

  if (recorded === undefined) {
    return `the transparency log entry is of kind ${kind}, which is not supported`;
  }

  if (!recorded.signatures.some((signature) => signature?.equals(content.signature) === true)) {
    return 'the transparency log entry records a different signature';
  }

  const { algorithm, value } = recorded.digest;

  if (algorithm !== content.digest.algorithm || value !== content.digest.hex) {
    return `the transparency log entry records the digest ${String(algorithm)}:${String(value)}, not ${content.digest.algorithm}:${content.digest.hex}`;
  }

  return undefined;
}

/** Reads the signatures and digest an entry body records, or undefined for a kind this does not read. */
function recordedContent(
  kind: string,
  spec: Record<string, unknown>,
): { signatures: (Buffer | undefined)[]; digest: Record<string, unknown> } | undefined {
  switch (kind) {
    case 'hashedrekord 0.0.1': {
      const signature = field(spec, 'signature');
      const data = field(spec, 'data');

      return { signatures: [decodeBase64(signature.content)], digest: field(data, 'hash') };
    }
    case 'intoto 0.0.2': {
      const content = field(spec, 'content');
      const envelope = field(content, 'envelope');

      // intoto 0.0.2 stores each DSSE signature base64-encoded twice.
      return {
        signatures: list(envelope.signatures).map((item) => decodeBase64(decodeBase64(item.sig)?.toString())),
        digest: field(content, 'payloadHash'),
      };
    }
    case 'dsse 0.0.1':
      return {
        signatures: list(spec.signatures).map((item) => decodeBase64(item.signature)),
        digest: field(spec, 'payloadHash'),
      };
    default:
      return undefined;
  }
}

function field(value: Record<string, unknown>, name: string): Record<string, unknown> {
  const inner = value[name];

  return isObject(inner) ? inner : {};
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** The hex SHA-256 of some bytes, the digest form Rekor entries record. */
export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
