import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MalformedAuthorizationError, parseAuthorization } from './authorization-header.js';

const base64 = (text: string) => Buffer.from(text).toString('base64');

describe('parseAuthorization', () => {
  it('reads no header as no credentials', () => {
    assert.deepEqual(parseAuthorization(undefined), { scheme: 'none' });
  });

  it('reads Basic credentials, with a colon allowed inside the password', () => {
    assert.deepEqual(parseAuthorization(`Basic ${base64('alice:pa:ss')}`), {
      scheme: 'basic',
      username: 'alice',
      password: 'pa:ss',
    });
  });

  it('accepts the scheme in any case', () => {
    assert.equal(parseAuthorization(`basic ${base64('a:b')}`).scheme, 'basic');
    assert.equal(parseAuthorization('BEARER abc.def.ghi').scheme, 'bearer');
  });

  it('reads a Bearer token', () => {
    assert.deepEqual(parseAuthorization('Bearer abc.def.ghi'), { scheme: 'bearer', token: 'abc.def.ghi' });
  });

  const bad: [string | string[], RegExp][] = [
    ['Basic', /not valid base64/],
    ['Basic !!!', /not valid base64/],
    ['Basic abc', /not valid base64/],
    [`Basic ${base64('no-colon')}`, /username:password/],
    [`Basic ${base64(':password')}`, /username:password/],
    [`Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, /UTF-8/],
    ['Bearer', /missing/],
    ['Bearer a b', /missing or has characters/],
    ['Digest username="a"', /Basic or Bearer/],
    ['', /Basic or Bearer/],
    [['Basic a', 'Basic b'], /one Authorization header/],
  ];

  for (const [header, reason] of bad) {
    it(`refuses ${JSON.stringify(header)}`, () => {
      assert.throws(
        () => parseAuthorization(header),
        (error: unknown) => error instanceof MalformedAuthorizationError && reason.test(error.message),
      );
    });
  }
});
