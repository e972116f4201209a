import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';

import { checkInclusionProof, type InclusionProof } from './sigstore-merkle.js';
import { merklePath, merkleRoot, signCheckpoint } from './sigstore-test-pki.js';
import type { TransparencyLog } from './sigstore-trusted-root.js';

const rekor = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const log: TransparencyLog = {
  baseUrl: '',
  logId: createHash('sha256')
    .update(rekor.publicKey.export({ type: 'spki', format: 'der' }))
    .digest(),
  key: rekor.publicKey,
  validFor: {},
};

function proofFor(index: number, entries: Buffer[]): InclusionProof {
  const root = merkleRoot(entries);

  return {
    logIndex: BigInt(index),
    treeSize: BigInt(entries.length),
    rootHash: root,
    hashes: merklePath(index, entries),
    checkpoint: signCheckpoint(entries.length, root, rekor.privateKey, log.logId),
  };
}

const entries = Array.from({ length: 13 }, (_, index) => Buffer.from(`entry ${index}`));

describe('checkInclusionProof', () => {
  it('verifies every entry of trees of size 1 to 13', () => {
    for (let size = 1; size <= entries.length; size += 1) {
      for (let index = 0; index < size; index += 1) {
        const tree = entries.slice(0, size);

        assert.equal(
          checkInclusionProof(tree[index], proofFor(index, tree), log),
          undefined,
          `${index} of ${size}`,
        );
      }
    }
  });

  it('rejects another entry or index', () => {
    const proof = proofFor(5, entries);

    assert.equal(
      checkInclusionProof(entries[4], proof, log),
      'the inclusion proof does not lead to its root hash',
    );
    assert.equal(
      checkInclusionProof(entries[5], { ...proof, logIndex: 4n }, log),
      'the inclusion proof does not lead to its root hash',
    );
    assert.equal(
      checkInclusionProof(entries[5], { ...proof, logIndex: 13n }, log),
      'the inclusion proof does not lead to its root hash',
    );
    assert.equal(
      checkInclusionProof(entries[5], { ...proof, hashes: proof.hashes.slice(1) }, log),
      'the inclusion proof does not lead to its root hash',
    );
  });

  it('rejects a checkpoint of another tree', () => {
    const proof = proofFor(5, entries);
    const other = proofFor(2, entries.slice(0, 12));

    assert.equal(
      checkInclusionProof(entries[5], { ...proof, checkpoint: other.checkpoint }, log),
      'the checkpoint states another tree size or root hash than the inclusion proof',
    );
  });

  it('rejects a checkpoint of another key', () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const proof = proofFor(5, entries);

    assert.equal(
      checkInclusionProof(
        entries[5],
        { ...proof, checkpoint: signCheckpoint(13, proof.rootHash, stranger.privateKey, log.logId) },
        log,
      ),
      'the checkpoint has no signature that verifies with the transparency log key',
    );
    assert.equal(
      checkInclusionProof(entries[5], { ...proof, checkpoint: 'no note' }, log),
      'the checkpoint is not a signed note',
    );
  });
});
