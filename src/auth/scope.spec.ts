import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseScopes, ScopeError } from './scope.js';

describe('parseScopes', () => {
  it('reads repository and registry scopes, several per request', () => {
    assert.deepEqual(parseScopes(['repository:team/app:pull,push', 'registry:catalog:*']), [
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('splits space-separated scopes in one value, as the OAuth form sends them', () => {
    assert.equal(parseScopes(['repository:a:pull repository:b:push']).length, 2);
  });

  it('ignores a resource class', () => {
    assert.deepEqual(parseScopes(['repository(plugin):team/app:pull']), [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
    ]);
  });

  it('returns nothing for no scope', () => {
    assert.deepEqual(parseScopes([]), []);
  });

  const bad: [string, RegExp][] = [
    ['repository:host:5000/app:pull', /not a valid repository name|must be lower-case/],
    ['repository:Team/App:pull', /lower case/],
    ['repository::pull', /empty/],
    ['pull', /type:name:actions/],
    ['repository:app', /type:name:actions/],
    ['registry:tags:*', /only registry resource is "catalog"/],
    ['volume:x:read', /unknown resource type "volume"/],
  ];

  for (const [scope, reason] of bad) {
    it(`refuses ${scope}`, () => {
      assert.throws(
        () => parseScopes([scope]),
        (error: unknown) => error instanceof ScopeError && reason.test(error.message),
      );
    });
  }
});
