import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BadRequestException } from '@nestjs/common';

import { pendingLoginMaxAgeMs } from '../session.service.js';
import { isPendingLoginExpired, resolveReturnTo, userFromClaims } from './oidc.service.js';

describe('OIDC sign-in rules', () => {
  it('expires pending sign-ins after 10 minutes', () => {
    const createdAt = 1_700_000_000_000;

    assert.equal(pendingLoginMaxAgeMs, 10 * 60 * 1000);
    assert.equal(isPendingLoginExpired(createdAt, createdAt), false);
    assert.equal(isPendingLoginExpired(createdAt, createdAt + pendingLoginMaxAgeMs), false);
    assert.equal(isPendingLoginExpired(createdAt, createdAt + pendingLoginMaxAgeMs + 1), true);
  });

  it('accepts returnTo paths on this site', () => {
    assert.equal(resolveReturnTo(undefined), '/home');
    assert.equal(resolveReturnTo(''), '/home');
    assert.equal(resolveReturnTo('/'), '/');
    assert.equal(resolveReturnTo('/home/team%2Fapp?tab=tags#top'), '/home/team%2Fapp?tab=tags#top');
  });

  it('rejects returnTo values that leave the site', () => {
    const rejected: unknown[] = [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/home\u0000',
      '/home\u007f',
      '/h\u00e9',
      ['/a', '/b'],
    ];

    for (const value of rejected) {
      assert.throws(() => resolveReturnTo(value), BadRequestException, JSON.stringify(value));
    }
  });

  it('reads username and groups from claims', () => {
    // Both claims in the ID token, as the provider of the second suite sends them.
    assert.deepEqual(
      userFromClaims(
        { sub: '1', preferred_username: 'alice', groups: ['developers', 'ops'] },
        'preferred_username',
        'groups',
      ),
      { username: 'alice', groups: ['developers', 'ops'] },
    );
    assert.deepEqual(userFromClaims({ email: 'a@example.com', roles: 'admins' }, 'email', 'roles'), {
      username: 'a@example.com',
      groups: ['admins'],
    });
    assert.deepEqual(userFromClaims({ preferred_username: 'bob' }, 'preferred_username', 'groups'), {
      username: 'bob',
      groups: [],
    });
    assert.deepEqual(userFromClaims({ groups: [1, '', 'a', 'a', null] }, 'preferred_username', 'groups'), {
      username: undefined,
      groups: ['a'],
    });
    assert.equal(
      userFromClaims({ preferred_username: 42 }, 'preferred_username', 'groups').username,
      undefined,
    );
    assert.equal(
      userFromClaims({ preferred_username: '' }, 'preferred_username', 'groups').username,
      undefined,
    );
    assert.equal(
      userFromClaims({ preferred_username: 'x'.repeat(256) }, 'preferred_username', 'groups').username,
      undefined,
    );
  });
});
