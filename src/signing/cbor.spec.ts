import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { type CborValue, CborError, CborTag, decodeCbor, encodeCbor } from './cbor.js';

function hex(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

// Examples from RFC 8949, Appendix A, as [encoding, decoded value].
const definite: [string, CborValue][] = [
  ['00', 0],
  ['17', 23],
  ['1818', 24],
  ['1903e8', 1000],
  ['1a000f4240', 1000000],
  ['1b000000e8d4a51000', 1000000000000],
  ['1bffffffffffffffff', 18446744073709551615n],
  ['3bffffffffffffffff', -18446744073709551616n],
  ['20', -1],
  ['3863', -100],
  ['3903e7', -1000],
  ['f4', false],
  ['f5', true],
  ['f6', null],
  ['f7', undefined],
  ['4401020304', hex('01020304')],
  ['40', Buffer.alloc(0)],
  ['6449455446', 'IETF'],
  ['62c3bc', '\u00fc'],
  ['63e6b0b4', '\u6c34'],
  ['8301820203820405', [1, [2, 3], [4, 5]]],
  [
    'a201020304',
    new Map([
      [1, 2],
      [3, 4],
    ]),
  ],
  [
    'a26161016162820203',
    new Map<string, CborValue>([
      ['a', 1],
      ['b', [2, 3]],
    ]),
  ],
  ['c11a514b67b0', new CborTag(1, 1363896240)],
  ['d28440a0f640', new CborTag(18, [Buffer.alloc(0), new Map(), null, Buffer.alloc(0)])],
];

const floats: [string, number][] = [
  ['f93e00', 1.5],
  ['f97bff', 65504],
  ['f90001', 5.960464477539063e-8],
  ['f9c400', -4],
  ['f97c00', Infinity],
  ['fa47c35000', 100000],
  ['fb3ff199999999999a', 1.1],
];

const indefinite: [string, CborValue][] = [
  ['5f42010243030405ff', hex('0102030405')],
  ['7f657374726561646d696e67ff', 'streaming'],
  ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]],
  [
    'bf61610161629f0203ffff',
    new Map<string, CborValue>([
      ['a', 1],
      ['b', [2, 3]],
    ]),
  ],
];

const malformed: [string, string, RegExp][] = [
  ['a truncated argument', '18', /unexpected end of input at byte 1/],
  ['reserved additional information', '1c', /reserved additional information 28/],
  [
    'a byte string longer than the input',
    '5affffffff00',
    /length 4294967295 at byte 0 exceeds the 1 bytes left/,
  ],
  ['an array count beyond the input', '9b00000000ffffffff', /exceeds the 0 bytes left/],
  ['a 64-bit array count', '9bffffffffffffffff', /exceeds the 0 bytes left/],
  ['trailing bytes', '0000', /unexpected data after the CBOR item at byte 1/],
  ['a duplicate map key', 'a201020103', /duplicate map key "1"/],
  ['a byte string map key', 'a14001', /map key at byte 1 is not an integer or text string/],
  ['invalid UTF-8', '62c328', /not valid UTF-8/],
  ['a lone break', 'ff', /unexpected break at byte 0/],
  ['an indefinite integer', '1f', /major type 0 cannot have an indefinite length/],
  ['an unterminated indefinite array', '9f01', /has no break/],
  ['a text chunk in a byte string', '5f6161ff', /invalid chunk/],
  ['an unassigned simple value', 'e0', /unsupported simple value 0/],
  ['a one-byte simple value', 'f820', /unsupported simple value 32/],
  ['an empty input', '', /unexpected end of input at byte 0/],
];

describe('decodeCbor', () => {
  for (const [encoding, value] of [...definite, ...floats]) {
    it(`decodes ${encoding}`, () => {
      assert.deepEqual(decodeCbor(hex(encoding)), value);
    });
  }

  for (const [encoding, value] of indefinite) {
    it(`decodes indefinite-length ${encoding}`, () => {
      assert.deepEqual(decodeCbor(hex(encoding)), value);
    });
  }

  it('decodes NaN', () => {
    assert.ok(Number.isNaN(decodeCbor(hex('f97e00'))));
  });

  it('decodes a Buffer view at an offset', () => {
    const outer = hex('ff6449455446ff').subarray(1, 6);

    assert.equal(decodeCbor(outer), 'IETF');
  });

  for (const [name, encoding, message] of malformed) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => decodeCbor(hex(encoding)),
        (error: unknown) => {
          assert.ok(error instanceof CborError);
          assert.match(error.message, message);

          return true;
        },
      );
    });
  }

  it('rejects nesting beyond the depth limit', () => {
    const nested = (depth: number): Buffer => Buffer.concat([Buffer.alloc(depth, 0x81), hex('00')]);

    assert.deepEqual(decodeCbor(nested(16)), JSON.parse(`${'['.repeat(16)}0${']'.repeat(16)}`));
    assert.throws(() => decodeCbor(nested(17)), /nesting deeper than 16 levels at byte 16/);
    assert.throws(() => decodeCbor(nested(3), { maxDepth: 2 }), /nesting deeper than 2 levels/);
  });

  it('rejects deeply nested tags', () => {
    assert.throws(() => decodeCbor(Buffer.concat([Buffer.alloc(100, 0xc1), hex('00')])), /nesting deeper/);
  });
});

describe('encodeCbor', () => {
  for (const [encoding, value] of definite) {
    it(`encodes ${encoding}`, () => {
      assert.equal(encodeCbor(value).toString('hex'), encoding);
    });
  }

  it('encodes the shortest argument at each boundary', () => {
    const boundaries: [CborValue, string][] = [
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [4294967296, '1b0000000100000000'],
      [-24, '37'],
      [-25, '3818'],
      [Buffer.alloc(24), `5818${'00'.repeat(24)}`],
    ];

    for (const [value, encoding] of boundaries) {
      assert.equal(encodeCbor(value).toString('hex'), encoding);
    }
  });

  it('round-trips a COSE_Sign1 shape', () => {
    const message = new CborTag(18, [
      encodeCbor(new Map<number | string, CborValue>([[1, -7]])),
      new Map<number | string, CborValue>([[33, [hex('3082')]]]),
      Buffer.from('{"targetArtifact":{}}'),
      Buffer.alloc(64, 1),
    ]);

    assert.deepEqual(decodeCbor(encodeCbor(message)), message);
  });

  it('rejects numbers it cannot encode exactly', () => {
    assert.throws(() => encodeCbor(1.5), /only safe integers are supported/);
    assert.throws(() => encodeCbor(2n ** 64n), /outside the 64-bit range/);
    assert.throws(() => encodeCbor(-(2n ** 64n) - 1n), /outside the 64-bit range/);
  });
});
