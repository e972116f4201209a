import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { AccessConfig } from '../config/config.schema.js';
import { globToPattern } from '../common/glob.js';
import { type AccessAction, AccessPolicy } from './policy.js';
import type { Subject } from './subject.js';

const config: AccessConfig = Object.assign(new AccessConfig(), {
  repositories: {
    '**': { anonymous: ['read'], authenticated: ['read'] },
    'team/**': {
      users: { alice: ['read', 'create', 'update', 'delete'] },
      groups: { developers: ['read', 'create'] },
    },
    'team/secret/**': { users: { alice: ['read'] } },
    'team/*/docs': { authenticated: ['read'], groups: { writers: ['create', 'update'] } },
    'public/*': { anonymous: ['read', 'create'] },
    'docker/**': { anonymous: ['read'], authenticated: ['read'] },
  },
  admins: { users: ['root'], groups: ['registry-admins'] },
  metrics: { anonymous: false, users: ['prometheus'], groups: ['monitoring'] },
});

const policy = new AccessPolicy(config);

const insideAnonymous: Subject = { kind: 'anonymous', inAnonymousNetwork: true };
const outsideAnonymous: Subject = { kind: 'anonymous', inAnonymousNetwork: false };

function user(username: string, groups: string[] = [], inAnonymousNetwork = false): Subject {
  return { kind: 'user', username, groups, method: 'htpasswd', inAnonymousNetwork };
}

/** [subject, repository, the exact set of actions allowed] */
const cases: [string, Subject, string, AccessAction[]][] = [
  ['anonymous inside the networks reads anything under **', insideAnonymous, 'library/nginx', ['read']],
  ['anonymous outside the networks gets nothing', outsideAnonymous, 'library/nginx', []],
  [
    'anonymous inside gets nothing where the longest match has no anonymous rule',
    insideAnonymous,
    'team/app',
    [],
  ],
  ['anonymous may create where the rule says so', insideAnonymous, 'public/scratch', ['read', 'create']],
  ['public/* covers one segment only; ** applies below it', insideAnonymous, 'public/a/b', ['read']],
  ['any signed-in user reads under **', user('bob'), 'library/nginx', ['read']],
  ['the longest match wins over **, so bob cannot read team/', user('bob'), 'team/app', []],
  ['alice has every action in team/', user('alice'), 'team/app', ['read', 'create', 'update', 'delete']],
  ['a deeper glob overrides team/** for alice', user('alice'), 'team/secret/keys', ['read']],
  ['a group grants its actions', user('carol', ['developers']), 'team/app', ['read', 'create']],
  [
    'users and groups add up',
    user('alice', ['developers']),
    'team/app',
    ['read', 'create', 'update', 'delete'],
  ],
  ['an unknown group adds nothing', user('dave', ['ops']), 'team/app', []],
  [
    '* matches one segment in the middle',
    user('dave', ['writers']),
    'team/app/docs',
    ['read', 'create', 'update'],
  ],
  ['* does not cross segments', user('dave', ['writers']), 'team/a/b/docs', []],
  [
    'a signed-in user inside the networks keeps anonymous rights',
    user('eve', [], true),
    'public/x',
    ['read', 'create'],
  ],
  ['a signed-in user outside the networks does not get them', user('eve'), 'public/x', []],
  [
    'an admin user may do anything anywhere',
    user('root'),
    'team/secret/keys',
    ['read', 'create', 'update', 'delete'],
  ],
  [
    'an admin group may do anything anywhere',
    user('frank', ['registry-admins']),
    'x',
    ['read', 'create', 'update', 'delete'],
  ],
  ['a user named like an admin group is not an admin', user('registry-admins'), 'team/app', []],
  ['anonymous is never an admin', insideAnonymous, 'team/secret/keys', []],
];

describe('AccessPolicy', () => {
  for (const [title, subject, repository, expected] of cases) {
    it(title, () => {
      assert.deepEqual([...policy.actions(subject, repository)].sort(), [...expected].sort());
    });
  }

  it('grants nothing when no glob matches', () => {
    const narrow = new AccessPolicy(
      Object.assign(new AccessConfig(), { repositories: { 'team/**': { authenticated: ['read'] } } }),
    );

    assert.deepEqual([...narrow.actions(user('bob'), 'other/app')], []);
  });

  it('prefers the longer glob in any order', () => {
    const reversed = new AccessPolicy(
      Object.assign(new AccessConfig(), {
        repositories: { 'a/**': { authenticated: ['read'] }, '**': { authenticated: ['delete'] } },
      }),
    );

    assert.deepEqual([...reversed.actions(user('bob'), 'a/b')], ['read']);
  });

  describe('metrics', () => {
    const metricsCases: [string, Subject, boolean][] = [
      ['anonymous, when metrics.anonymous is false', insideAnonymous, false],
      ['a listed user', user('prometheus'), true],
      ['a listed group', user('grafana', ['monitoring']), true],
      ['an admin', user('root'), true],
      ['another user', user('bob'), false],
    ];

    for (const [title, subject, expected] of metricsCases) {
      it(title, () => assert.equal(policy.mayReadMetrics(subject), expected));
    }

    it('lets anonymous clients inside the networks scrape when metrics.anonymous is true', () => {
      const open = new AccessPolicy(new AccessConfig());

      assert.equal(open.mayReadMetrics(insideAnonymous), true);
      assert.equal(open.mayReadMetrics(outsideAnonymous), false);
    });
  });
});

describe('globToPattern', () => {
  const globCases: [string, string, boolean][] = [
    ['**', 'a', true],
    ['**', 'a/b/c', true],
    ['team/**', 'team/app', true],
    ['team/**', 'team/a/b', true],
    ['team/**', 'team', false],
    ['team/**', 'teams/app', false],
    ['team/*', 'team/app', true],
    ['team/*', 'team/a/b', false],
    ['*/app', 'team/app', true],
    ['a.b/c', 'a.b/c', true],
    ['a.b/c', 'aXb/c', false],
    ['app-*', 'app-1', true],
  ];

  for (const [glob, name, expected] of globCases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${name}`, () => {
      assert.equal(globToPattern(glob).test(name), expected);
    });
  }
});
