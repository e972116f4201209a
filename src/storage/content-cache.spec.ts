import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ContentCache } from './content-cache.js';

describe('ContentCache', () => {
  it('returns what was stored and counts its bytes', () => {
    const cache = new ContentCache(100);

    cache.set('a', Buffer.alloc(10, 1));

    assert.deepEqual(cache.get('a'), Buffer.alloc(10, 1));
    assert.equal(cache.size, 10);
    assert.equal(cache.get('b'), undefined);
  });

  it('drops the least recently used entries to stay within its size', () => {
    const cache = new ContentCache(30);

    cache.set('a', Buffer.alloc(10));
    cache.set('b', Buffer.alloc(10));
    cache.set('c', Buffer.alloc(10));
    cache.get('a');
    cache.set('d', Buffer.alloc(10));

    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a'));
    assert.ok(cache.get('c'));
    assert.ok(cache.get('d'));
    assert.equal(cache.size, 30);
  });

  it('makes room for a large entry by dropping several small ones', () => {
    const cache = new ContentCache(30);

    cache.set('a', Buffer.alloc(10));
    cache.set('b', Buffer.alloc(10));
    cache.set('c', Buffer.alloc(10));
    cache.set('d', Buffer.alloc(25));

    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((key) => cache.get(key) !== undefined),
      [false, false, false, true],
    );
    assert.equal(cache.size, 25);
  });

  it('oversized entries and size 0 keep nothing', () => {
    const small = new ContentCache(8);
    const off = new ContentCache(0);

    small.set('a', Buffer.alloc(9));
    off.set('a', Buffer.alloc(1));

    assert.equal(small.get('a'), undefined);
    assert.equal(off.get('a'), undefined);
    assert.equal(small.size + off.size, 0);
  });

  it('replacing or deleting an entry gives its bytes back', () => {
    const cache = new ContentCache(100);

    cache.set('a', Buffer.alloc(10));
    cache.set('a', Buffer.alloc(20));

    assert.equal(cache.size, 20);

    cache.delete('a');
    cache.delete('missing');

    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });
});
