import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import {
  identityTrusted,
  type NotationTrustPolicy,
  parseDistinguishedName,
  parseTrustPolicy,
  policyAction,
  policyFor,
} from './notation-trust-policy.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'notation');
const readPolicy = (name: string): unknown =>
  JSON.parse(readFileSync(join(fixtures, 'trustpolicy', name), 'utf8')) as unknown;
const e2e = new X509Certificate(readFileSync(join(fixtures, 'e2e.crt')));

function policy(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'e2e',
    registryScopes: ['*'],
    signatureVerification: { level: 'strict' },
    trustStores: ['ca:e2e'],
    trustedIdentities: ['*'],
    ...fields,
  };
}

function documentOf(...policies: Record<string, unknown>[]): unknown {
  return { version: '1.0', trustPolicies: policies };
}

describe('parseTrustPolicy', () => {
  it('reads the notation e2e policies', () => {
    assert.deepEqual(parseTrustPolicy(readPolicy('valid_trusted_identity_trustpolicy.json')), {
      version: '1.0',
      trustPolicies: [
        {
          name: 'e2e',
          registryScopes: ['*'],
          signatureVerification: { level: 'strict' },
          trustStores: ['ca:e2e'],
          trustedIdentities: ['x509.subject: CN=e2e,O=Notary,L=Seattle,ST=WA,C=US'],
        },
      ],
    });
    assert.deepEqual(
      parseTrustPolicy(readPolicy('registry_scope_trustpolicy.json')).trustPolicies[0].registryScopes,
      ['localhost:5000/test-repo'],
    );
  });

  it('reads overrides and a skip policy', () => {
    const document = parseTrustPolicy(
      documentOf(
        policy({
          signatureVerification: { level: 'strict', override: { expiry: 'log', revocation: 'skip' } },
        }),
        policy({
          name: 'open',
          registryScopes: ['registry.example/public'],
          signatureVerification: { level: 'skip' },
          trustStores: [],
          trustedIdentities: [],
        }),
      ),
    );

    assert.deepEqual(document.trustPolicies[0].signatureVerification.override, {
      expiry: 'log',
      revocation: 'skip',
    });
    assert.equal(document.trustPolicies[1].signatureVerification.level, 'skip');
  });

  const invalid: [string, unknown, string][] = [
    ['a document that is not an object', [], 'the trust policy document: expected an object, found an array'],
    ['a missing version', { trustPolicies: [policy()] }, 'version: expected "1.0", found nothing'],
    [
      'another version',
      { version: '2.0', trustPolicies: [policy()] },
      'version: expected "1.0", found "2.0"',
    ],
    ['no policies', documentOf(), 'trustPolicies: the list is empty'],
    [
      'a missing name',
      documentOf(policy({ name: undefined })),
      'trustPolicies[0].name: expected a non-empty string, found nothing',
    ],
    [
      'a bad level',
      documentOf(policy({ signatureVerification: { level: 'lenient' } })),
      'trustPolicies[0].signatureVerification.level: expected one of strict, permissive, audit, skip, found "lenient"',
    ],
    [
      'a bad trustStores entry',
      documentOf(policy({ trustStores: ['e2e'] })),
      'trustPolicies[0].trustStores[0]: "e2e" is not "type:name" with type ca, signingAuthority or tsa',
    ],
    [
      'a trustStores entry that is not a string',
      documentOf(policy({ trustStores: [1] })),
      'trustPolicies[0].trustStores[0]: expected a string, found 1',
    ],
    [
      'a duplicate name',
      documentOf(policy(), policy({ registryScopes: ['localhost:5000/app'] })),
      'trustPolicies[1].name: the name "e2e" is used by an earlier policy',
    ],
    [
      'two "*" policies',
      documentOf(policy(), policy({ name: 'second' })),
      'trustPolicies[1].registryScopes[0]: "*" is already covered by the policy "e2e" (hosts are not compared)',
    ],
    [
      'one repository under two hosts',
      documentOf(
        policy({ registryScopes: ['localhost:5000/app'] }),
        policy({ name: 'other', registryScopes: ['registry.example/app'] }),
      ),
      'trustPolicies[1].registryScopes[0]: "registry.example/app" is already covered by the policy "e2e" (hosts are not compared)',
    ],
    [
      '"*" beside another scope',
      documentOf(policy({ registryScopes: ['*', 'localhost:5000/app'] })),
      'trustPolicies[0].registryScopes[0]: "*" must be the only scope of its policy',
    ],
    [
      'a scope without a host',
      documentOf(policy({ registryScopes: ['app'] })),
      'trustPolicies[0].registryScopes[0]: "app" is not "host/repository" with a valid repository name',
    ],
    [
      'a scope with a tag',
      documentOf(policy({ registryScopes: ['localhost:5000/app:v1'] })),
      'trustPolicies[0].registryScopes[0]: "localhost:5000/app:v1" is not "host/repository" with a valid repository name',
    ],
    [
      'an identity without C, ST and O',
      documentOf(policy({ trustedIdentities: ['x509.subject: CN=e2e'] })),
      'trustPolicies[0].trustedIdentities[0]: the distinguished name must contain C, ST and O; it lacks C, ST, O',
    ],
    [
      'an identity with a repeated attribute',
      documentOf(policy({ trustedIdentities: ['x509.subject: C=US,ST=WA,O=A,O=B'] })),
      'trustPolicies[0].trustedIdentities[0]: the distinguished name is invalid: the attribute O appears more than once',
    ],
    [
      'an identity of another kind',
      documentOf(policy({ trustedIdentities: ['email: a@example.com'] })),
      'trustPolicies[0].trustedIdentities[0]: "email: a@example.com" is neither "*" nor "x509.subject: <distinguished name>"',
    ],
    [
      'no trust stores under strict',
      documentOf(policy({ trustStores: [] })),
      'trustPolicies[0].trustStores: level strict needs at least one trust store',
    ],
    [
      'trust stores under skip',
      documentOf(policy({ signatureVerification: { level: 'skip' } })),
      'trustPolicies[0]: a policy with level skip must list no trustStores and no trustedIdentities',
    ],
    [
      'an override of integrity',
      documentOf(policy({ signatureVerification: { level: 'strict', override: { integrity: 'log' } } })),
      'trustPolicies[0].signatureVerification.override.integrity: integrity cannot be overridden',
    ],
    [
      'an override that logs authenticity',
      documentOf(policy({ signatureVerification: { level: 'strict', override: { authenticity: 'log' } } })),
      'trustPolicies[0].signatureVerification.override.authenticity: Wharf always enforces authenticity, so only enforce is accepted',
    ],
    [
      'an unknown field',
      documentOf(policy({ trustedIdentity: ['*'] })),
      'trustPolicies[0].trustedIdentity: unknown field; expected one of name, registryScopes, signatureVerification, trustStores, trustedIdentities',
    ],
  ];

  for (const [name, json, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseTrustPolicy(json), { message });
    });
  }
});

describe('policyFor', () => {
  const document = parseTrustPolicy(
    documentOf(
      policy({ name: 'app', registryScopes: ['localhost:5000/team/app', 'registry.example/other'] }),
      policy({ name: 'fallback' }),
    ),
  );

  it('picks the policy whose scope names the repository', () => {
    assert.equal(policyFor(document, 'team/app')?.name, 'app');
    assert.equal(policyFor(document, 'other')?.name, 'app');
  });

  it('falls back to the "*" policy', () => {
    assert.equal(policyFor(document, 'team/app2')?.name, 'fallback');
    assert.equal(policyFor(document, 'team')?.name, 'fallback');
  });

  it('returns nothing without a "*" policy', () => {
    const scoped = parseTrustPolicy(readPolicy('registry_scope_trustpolicy.json'));

    assert.equal(policyFor(scoped, 'test-repo')?.name, 'e2e');
    assert.equal(policyFor(scoped, 'localhost:5000/test-repo'), undefined);
    assert.equal(policyFor(scoped, 'other'), undefined);
  });
});

describe('policyAction', () => {
  const parsed = (signatureVerification: unknown): NotationTrustPolicy =>
    parseTrustPolicy(documentOf(policy({ signatureVerification }))).trustPolicies[0];

  it('follows the level', () => {
    assert.deepEqual(policyAction(parsed({ level: 'strict' }), 'expiry'), {
      action: 'enforce',
      overridden: false,
    });
    assert.deepEqual(policyAction(parsed({ level: 'permissive' }), 'expiry'), {
      action: 'log',
      overridden: false,
    });
    assert.deepEqual(policyAction(parsed({ level: 'audit' }), 'authenticTimestamp'), {
      action: 'log',
      overridden: false,
    });
  });

  it('prefers an override', () => {
    const overridden = parsed({ level: 'permissive', override: { authenticTimestamp: 'enforce' } });

    assert.deepEqual(policyAction(overridden, 'authenticTimestamp'), { action: 'enforce', overridden: true });
    assert.deepEqual(policyAction(overridden, 'expiry'), { action: 'log', overridden: false });
  });
});

describe('identityTrusted', () => {
  const withIdentities = (...trustedIdentities: string[]): NotationTrustPolicy =>
    parseTrustPolicy(documentOf(policy({ trustedIdentities }))).trustPolicies[0];

  it('matches the e2e certificate in any attribute order', () => {
    assert.equal(
      identityTrusted(withIdentities('x509.subject: CN=e2e,O=Notary,L=Seattle,ST=WA,C=US'), e2e),
      true,
    );
    assert.equal(identityTrusted(withIdentities('x509.subject: C=US, ST=WA, O=Notary, CN=e2e'), e2e), true);
  });

  it('matches a subset of the attributes', () => {
    assert.equal(identityTrusted(withIdentities('x509.subject: C=US,ST=WA,O=Notary'), e2e), true);
  });

  it('rejects a different value or a missing attribute', () => {
    assert.equal(identityTrusted(withIdentities('x509.subject: CN=e2f,O=Notary,ST=WA,C=US'), e2e), false);
    assert.equal(identityTrusted(withIdentities('x509.subject: OU=Build,O=Notary,ST=WA,C=US'), e2e), false);
    assert.equal(identityTrusted(withIdentities('x509.subject: CN=E2E,O=Notary,ST=WA,C=US'), e2e), false);
  });

  it('matches any of several identities, and "*" always', () => {
    const identities = [
      'x509.subject: CN=other,O=Notary,ST=WA,C=US',
      'x509.subject: CN=e2e,O=Notary,ST=WA,C=US',
    ];

    assert.equal(identityTrusted(withIdentities(...identities), e2e), true);
    assert.equal(identityTrusted(withIdentities('*'), e2e), true);
  });
});

describe('parseDistinguishedName', () => {
  it('decodes escapes and multi-valued names', () => {
    assert.deepEqual(
      parseDistinguishedName('CN=Acme\\, Inc.+serialNumber=42,O=\\E6\\B0\\B4,C=US', ','),
      new Map([
        ['CN', 'Acme, Inc.'],
        ['SERIALNUMBER', '42'],
        ['O', '\u6c34'],
        ['C', 'US'],
      ]),
    );
  });

  it('reads the subject as Node prints it', () => {
    assert.deepEqual(
      [...parseDistinguishedName(e2e.subject, '\n')],
      [
        ['C', 'US'],
        ['ST', 'WA'],
        ['L', 'Seattle'],
        ['O', 'Notary'],
        ['CN', 'e2e'],
      ],
    );
  });

  it('rejects malformed names', () => {
    assert.throws(() => parseDistinguishedName('CN=a,,O=b', ','), /has an empty attribute/);
    assert.throws(() => parseDistinguishedName('CN', ','), /"CN" is not an attribute=value pair/);
    assert.throws(() => parseDistinguishedName('=x', ','), /is not an attribute=value pair/);
  });
});
