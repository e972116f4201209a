import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import { Digest } from './digest.js';
import { InvalidDigestError } from './domain-errors.js';

/** SHA-256 and SHA-512 digests of the empty input and SHA-256 of "abc", as coreutils prints them. */
const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const emptySha512 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce' +
  '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const abcSha256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('Digest.parse', () => {
  it('parses sha256 algorithm', () => {
    assert.equal(Digest.parse(`sha256:${emptySha256}`).algorithm, 'sha256');
  });

  it('parses sha256 hex', () => {
    assert.equal(Digest.parse(`sha256:${emptySha256}`).hex, emptySha256);
  });

  it('parses sha512 algorithm', () => {
    assert.equal(Digest.parse(`sha512:${emptySha512}`).algorithm, 'sha512');
  });

  it('parses sha512 hex', () => {
    assert.equal(Digest.parse(`sha512:${emptySha512}`).hex, emptySha512);
  });

  const invalid: [label: string, text: string][] = [
    ['empty string', ''],
    ['hex without algorithm', emptySha256],
    ['empty algorithm', `:${emptySha256}`],
    ['empty encoded part', 'sha256:'],
    ['upper-case algorithm', `SHA256:${emptySha256}`],
    ['unknown algorithm', `md5:${'0'.repeat(32)}`],
    ['sha384 algorithm', `sha384:${'0'.repeat(96)}`],
    ['grammar-valid unknown algorithm', `multihash+base58:${'a'.repeat(64)}`],
    ['sha256 with 63 characters', `sha256:${emptySha256.slice(1)}`],
    ['sha256 with 65 characters', `sha256:${emptySha256}0`],
    ['sha256 with sha512 length', `sha256:${emptySha512}`],
    ['sha512 with sha256 length', `sha512:${emptySha256}`],
    ['upper-case hex', `sha256:${emptySha256.toUpperCase()}`],
    ['non-hex character', `sha256:${emptySha256.slice(1)}g`],
    ['second colon', `sha256:${emptySha256}:x`],
    ['leading space', ` sha256:${emptySha256}`],
    ['trailing newline', `sha256:${emptySha256}\n`],
  ];

  for (const [label, text] of invalid) {
    it(`rejects ${label}`, () => {
      assert.throws(() => Digest.parse(text), InvalidDigestError);
    });
  }

  it('error carries the digest', () => {
    assert.throws(
      () => Digest.parse('sha256:abc'),
      (error: unknown) => error instanceof InvalidDigestError && error.detail?.digest === 'sha256:abc',
    );
  });

  it('error names the algorithm', () => {
    assert.throws(() => Digest.parse(`md5:${'0'.repeat(32)}`), /unsupported algorithm "md5"/);
  });
});

describe('Digest.isValid', () => {
  it('accepts valid digest', () => {
    assert.equal(Digest.isValid(`sha256:${emptySha256}`), true);
  });

  it('rejects invalid digest', () => {
    assert.equal(Digest.isValid('sha256:abc'), false);
  });
});

describe('Digest.of', () => {
  it('hashes empty input with sha256', () => {
    assert.equal(Digest.of(new Uint8Array()).toString(), `sha256:${emptySha256}`);
  });

  it('hashes "abc" with sha256', () => {
    assert.equal(Digest.of(Buffer.from('abc')).toString(), `sha256:${abcSha256}`);
  });

  it('hashes empty input with sha512', () => {
    assert.equal(Digest.of(new Uint8Array(), 'sha512').toString(), `sha512:${emptySha512}`);
  });

  it('result parses back', () => {
    const digest = Digest.of(Buffer.from('abc'));

    assert.ok(Digest.parse(digest.toString()).equals(digest));
  });
});

describe('Digest.fromHash', () => {
  it('wraps finished hash', () => {
    const hash = createHash('sha256').update('abc');

    assert.equal(Digest.fromHash('sha256', hash).toString(), `sha256:${abcSha256}`);
  });
});

describe('Digest.equals', () => {
  const digest = Digest.parse(`sha256:${emptySha256}`);

  it('equal digests match', () => {
    assert.equal(digest.equals(Digest.parse(`sha256:${emptySha256}`)), true);
  });

  it('different hex differs', () => {
    assert.equal(digest.equals(Digest.parse(`sha256:${abcSha256}`)), false);
  });

  it('different algorithm differs', () => {
    assert.equal(digest.equals(Digest.of(new Uint8Array(), 'sha512')), false);
  });
});

describe('Digest.toString', () => {
  it('round-trips sha256', () => {
    assert.equal(Digest.parse(`sha256:${emptySha256}`).toString(), `sha256:${emptySha256}`);
  });

  it('round-trips sha512', () => {
    assert.equal(Digest.parse(`sha512:${emptySha512}`).toString(), `sha512:${emptySha512}`);
  });

  it('String() uses toString', () => {
    assert.equal(String(Digest.parse(`sha256:${emptySha256}`)), `sha256:${emptySha256}`);
  });
});
