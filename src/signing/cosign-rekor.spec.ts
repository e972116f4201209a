import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { checkCosignTransparencyLog } from './cosign-rekor.js';
import { cosignBundleAnnotation, cosignSignatureAnnotation } from './cosign-signature.js';
import { parseTrustedRoot } from './sigstore-trusted-root.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'cosign');
const notChecked = 'the transparency log (Rekor) bundle was not checked';

/** The containers/image fixture layer whose Rekor bundle the public-good log signed. */
function rekorLayer(): { payload: Buffer; annotations: Record<string, string> } {
  const file = readFileSync(join(fixtures, 'dir-img-cosign-key-rekor-valid', 'signature-1'));
  const body = JSON.parse(file.subarray(file.indexOf('\n') + 1).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };

  return { payload: Buffer.from(body.payload, 'base64'), annotations: body.annotations };
}

const trustedRoot = parseTrustedRoot(
  JSON.parse(readFileSync(join(fixtures, 'sigstore-bundle', 'trusted-root-public-good.json'), 'utf8')),
);

describe('checkCosignTransparencyLog', () => {
  it("takes the signing time from the real fixture's verified Rekor promise", () => {
    const { payload, annotations } = rekorLayer();
    const result = checkCosignTransparencyLog(payload, annotations, [notChecked], trustedRoot);

    assert.deepEqual(result, {
      notes: ['the transparency log inclusion proof was not checked'],
      signingTime: '2023-01-20T21:57:39.000Z',
    });
  });

  it('keeps the note without a trusted root, and without a bundle adds nothing', () => {
    const { payload, annotations } = rekorLayer();
    const { [cosignBundleAnnotation]: bundle, ...bare } = annotations;

    assert.ok(bundle);
    assert.deepEqual(checkCosignTransparencyLog(payload, annotations, [notChecked], undefined), {
      notes: [notChecked],
    });
    assert.deepEqual(checkCosignTransparencyLog(payload, bare, [], trustedRoot), { notes: [] });
  });

  it('notes mismatched or tampered bundles', () => {
    const { payload, annotations } = rekorLayer();
    const bundle = JSON.parse(annotations[cosignBundleAnnotation]) as {
      SignedEntryTimestamp: string;
      Payload: { integratedTime: number };
    };
    const otherPayload = checkCosignTransparencyLog(
      Buffer.concat([payload, Buffer.from(' ')]),
      annotations,
      [notChecked],
      trustedRoot,
    );
    const otherSignature = checkCosignTransparencyLog(
      payload,
      { ...annotations, [cosignSignatureAnnotation]: Buffer.from('another signature').toString('base64') },
      [notChecked],
      trustedRoot,
    );
    const moved = checkCosignTransparencyLog(
      payload,
      {
        ...annotations,
        [cosignBundleAnnotation]: JSON.stringify({
          ...bundle,
          Payload: { ...bundle.Payload, integratedTime: bundle.Payload.integratedTime + 1 },
        }),
      },
      [notChecked],
      trustedRoot,
    );
    const broken = checkCosignTransparencyLog(
      payload,
      { ...annotations, [cosignBundleAnnotation]: '{' },
      [notChecked],
      trustedRoot,
    );

    assert.match(otherPayload.notes.join(), /does not match this signature: .*digest/);
    assert.match(otherSignature.notes.join(), /does not match this signature: .*different signature/);
    assert.match(moved.notes.join(), /did not verify/);
    assert.match(broken.notes.join(), /cannot be read/);

    for (const result of [otherPayload, otherSignature, moved, broken]) {
      assert.equal(result.signingTime, undefined);
      assert.ok(!result.notes.includes(notChecked));
    }
  });
});
