import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RangeNotSatisfiableError, UploadInvalidError } from '../common/domain-errors.js';
import type { ByteRange } from '../storage/blob-storage.service.js';
import { parseContentRange, parseRangeHeader } from './byte-range.js';

describe('parseRangeHeader', () => {
  const satisfiable: [
    label: string,
    header: string | undefined,
    size: number,
    expected: ByteRange | undefined,
  ][] = [
    ['absent header', undefined, 10, undefined],
    ['first byte', 'bytes=0-0', 10, { start: 0, end: 0 }],
    ['closed range', 'bytes=2-5', 10, { start: 2, end: 5 }],
    ['last byte by position', 'bytes=9-9', 10, { start: 9, end: 9 }],
    ['whole blob by position', 'bytes=0-9', 10, { start: 0, end: 9 }],
    ['open-ended range', 'bytes=4-', 10, { start: 4, end: 9 }],
    ['open-ended from zero', 'bytes=0-', 10, { start: 0, end: 9 }],
    ['suffix range', 'bytes=-3', 10, { start: 7, end: 9 }],
    ['suffix of whole size', 'bytes=-10', 10, { start: 0, end: 9 }],
    ['suffix longer than blob', 'bytes=-50', 10, { start: 0, end: 9 }],
    ['end past size clamps', 'bytes=5-100', 10, { start: 5, end: 9 }],
    ['huge end clamps', 'bytes=0-99999999999999999999', 10, { start: 0, end: 9 }],
    ['surrounding whitespace', '  bytes=1-2 ', 10, { start: 1, end: 2 }],
    ['multiple ranges ignored', 'bytes=0-1,4-5', 10, undefined],
    ['other unit ignored', 'items=0-1', 10, undefined],
    ['missing positions ignored', 'bytes=-', 10, undefined],
    ['malformed value ignored', 'bytes=a-b', 10, undefined],
    ['empty header ignored', '', 10, undefined],
  ];

  for (const [label, header, size, expected] of satisfiable) {
    it(label, () => {
      assert.deepEqual(parseRangeHeader(header, size), expected);
    });
  }

  const unsatisfiable: [label: string, header: string, size: number][] = [
    ['start at size', 'bytes=10-', 10],
    ['start past size', 'bytes=11-20', 10],
    ['suffix of zero', 'bytes=-0', 10],
    ['end before start', 'bytes=5-3', 10],
    ['empty blob first byte', 'bytes=0-0', 0],
    ['empty blob open-ended', 'bytes=0-', 0],
    ['empty blob suffix of zero', 'bytes=-0', 0],
  ];

  for (const [label, header, size] of unsatisfiable) {
    it(`${label} throws`, () => {
      assert.throws(() => parseRangeHeader(header, size), RangeNotSatisfiableError);
    });
  }

  it('error carries blob size', () => {
    assert.throws(
      () => parseRangeHeader('bytes=20-', 10),
      (error: unknown) => error instanceof RangeNotSatisfiableError && error.size === 10,
    );
  });

  // RFC 9110 section 14.1.1: "When a selected representation has zero length, the only satisfiable form of
  // range-spec in a GET request is a suffix-range with a non-zero suffix-length." The range contains no byte,
  // so parseRangeHeader should return undefined and the server sends the whole (empty) blob.
  it('empty blob suffix range', () => {
    assert.equal(parseRangeHeader('bytes=-5', 0), undefined);
  });
});

describe('parseContentRange', () => {
  const valid: [label: string, header: string, expected: ByteRange][] = [
    ['first chunk', '0-99', { start: 0, end: 99 }],
    ['later chunk', '100-199', { start: 100, end: 199 }],
    ['single byte', '0-0', { start: 0, end: 0 }],
    ['bytes space prefix', 'bytes 0-99', { start: 0, end: 99 }],
    ['bytes equals prefix', 'bytes=0-99', { start: 0, end: 99 }],
    ['surrounding whitespace', ' 5-9 ', { start: 5, end: 9 }],
  ];

  for (const [label, header, expected] of valid) {
    it(`parses ${label}`, () => {
      assert.deepEqual(parseContentRange(header), expected);
    });
  }

  const invalid: [label: string, header: string][] = [
    ['empty header', ''],
    ['end before start', '5-4'],
    ['missing end', '0-'],
    ['missing start', '-5'],
    ['negative start', '-1-5'],
    ['letters', 'a-b'],
    ['other unit', 'items 0-99'],
  ];

  for (const [label, header] of invalid) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseContentRange(header), UploadInvalidError);
    });
  }
});
