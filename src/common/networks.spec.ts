import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { cidrProblem, NetworkList } from './networks.js';

describe('NetworkList', () => {
  const list = new NetworkList(['127.0.0.0/8', '::1/128', '192.0.2.7', '2001:db8::/32']);

  const cases: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::ffff:127.0.0.1', true],
    ['::1', true],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['2001:db8::5', true],
    ['2001:db9::5', false],
    ['not-an-address', false],
    [undefined, false],
  ];

  for (const [address, expected] of cases) {
    it(`${expected ? 'contains' : 'does not contain'} ${String(address)}`, () => {
      assert.equal(list.contains(address), expected);
    });
  }

  it('gives stable results past its bound', () => {
    const many = new NetworkList(['10.1.0.0/16']);

    // 5,000 addresses run past the 4,096 results a list keeps, so the list starts over once.
    for (let round = 0; round < 2; round += 1) {
      for (let index = 0; index < 5000; index += 1) {
        const address = `10.${index % 2 === 0 ? 1 : 2}.${Math.floor(index / 256)}.${index % 256}`;

        assert.equal(many.contains(address), index % 2 === 0, address);
      }
    }
  });

  it('contains nothing when empty', () => {
    assert.equal(new NetworkList([]).contains('127.0.0.1'), false);
  });
});

describe('cidrProblem', () => {
  it('accepts addresses and ranges and explains anything else', () => {
    assert.equal(cidrProblem('10.0.0.0/8'), undefined);
    assert.equal(cidrProblem('::1'), undefined);
    assert.match(cidrProblem('10.0.0.0/33') ?? '', /CIDR/);
    assert.match(cidrProblem('localhost') ?? '', /CIDR/);
  });
});
