import { createHash } from 'node:crypto';

import { verifySignature } from './sigstore-signature.js';
import { decodeBase64, type TransparencyLog } from './sigstore-trusted-root.js';

/** A Merkle inclusion proof of a Rekor entry, as a bundle's `inclusionProof` carries it, decoded. */
export interface InclusionProof {
  logIndex: bigint;
  treeSize: bigint;
  rootHash: Buffer;
  hashes: Buffer[];
  /** The signed note (checkpoint) in which the log signs its tree size and root hash. */
  checkpoint: string;
}

/**
 * Verifies that an entry body is in the log: the RFC 6962 leaf hash of the body, combined with the
 * proof's hashes (RFC 9162, section 2.1.3.2), must give the root hash, and the checkpoint must state
 * the same tree size and root hash and carry a valid signature by the log's key. Returns the reason it
 * fails, or undefined.
 */
export function checkInclusionProof(
  body: Buffer,
  proof: InclusionProof,
  log: TransparencyLog,
): string | undefined {
  const leaf = hash(Buffer.from([0]), body);
  const root = rootFromPath(leaf, proof);

  if (root === undefined || !root.equals(proof.rootHash)) {
    return 'the inclusion proof does not lead to its root hash';
  }

  return checkCheckpoint(proof, log);
}

function rootFromPath(leaf: Buffer, proof: InclusionProof): Buffer | undefined {
  if (proof.logIndex < 0n || proof.logIndex >= proof.treeSize) {
    return undefined;
  }

  let index = proof.logIndex;
  let last = proof.treeSize - 1n;
  let node = leaf;

  for (const sibling of proof.hashes) {
    if (last === 0n) {
      return undefined;
    }

    if ((index & 1n) === 1n || index === last) {
      node = hash(Buffer.from([1]), sibling, node);

      // A left sibling at the right edge of the tree skips levels where this node has no sibling.
      while ((index & 1n) === 0n && index !== 0n) {
        index >>= 1n;
        last >>= 1n;
      }
    } else {
      node = hash(Buffer.from([1]), node, sibling);
    }

    index >>= 1n;
    last >>= 1n;
  }

  return last === 0n ? node : undefined;
}

/**
 * Checks a checkpoint in the signed-note form: body lines (origin, tree size, base64 root hash, then
 * optional lines), a blank line, and lines `— <name> <base64 of key hint and signature>`. The key hint
 * is the first 4 bytes of the log id, and the signature covers the body including its final newline.
 */
function checkCheckpoint(proof: InclusionProof, log: TransparencyLog): string | undefined {
  const split = proof.checkpoint.lastIndexOf('\n\n');

  if (split < 0) {
    return 'the checkpoint is not a signed note';
  }

  const body = proof.checkpoint.slice(0, split + 1);
  const [, size, root] = body.split('\n');

  if (size !== proof.treeSize.toString() || root !== proof.rootHash.toString('base64')) {
    return 'the checkpoint states another tree size or root hash than the inclusion proof';
  }

  const hint = log.logId.subarray(0, 4);
  const signed = proof.checkpoint
    .slice(split + 2)
    .split('\n')
    .map((line) => /^\u2014 \S+ (\S+)$/.exec(line)?.[1])
    .map((encoded) => decodeBase64(encoded))
    .some(
      (bytes) =>
        bytes !== undefined &&
        bytes.length > 4 &&
        bytes.subarray(0, 4).equals(hint) &&
        verifySignature(log.key, Buffer.from(body), bytes.subarray(4)),
    );

  return signed ? undefined : 'the checkpoint has no signature that verifies with the transparency log key';
}

function hash(...parts: Buffer[]): Buffer {
  const digest = createHash('sha256');

  for (const part of parts) {
    digest.update(part);
  }

  return digest.digest();
}
