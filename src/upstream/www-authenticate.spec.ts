import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseChallenge } from './www-authenticate.js';

describe('parseChallenge', () => {
  const realm = 'https://auth.example.test/token';

  const cases: [label: string, header: string, scheme: string, parameters: Record<string, string>][] = [
    [
      'Bearer with three parameters',
      `Bearer realm="${realm}",service="registry.example.test",scope="repository:a/b:pull"`,
      'bearer',
      { realm, service: 'registry.example.test', scope: 'repository:a/b:pull' },
    ],
    [
      'scope with comma inside',
      `Bearer realm="${realm}",scope="repository:a/b:pull,push"`,
      'bearer',
      { realm, scope: 'repository:a/b:pull,push' },
    ],
    [
      'space after commas',
      `Bearer realm="${realm}", service="registry", scope="repository:a/b:pull"`,
      'bearer',
      { realm, service: 'registry', scope: 'repository:a/b:pull' },
    ],
    ['Basic with realm', 'Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    [
      'unquoted values',
      'Bearer realm=https://auth.example.test/token,service=registry',
      'bearer',
      { realm, service: 'registry' },
    ],
    ['escaped quotes', 'Basic realm="say \\"hi\\" here"', 'basic', { realm: 'say "hi" here' }],
    ['escaped backslash', 'Basic realm="a\\\\b"', 'basic', { realm: 'a\\b' }],
    ['upper-case scheme', `BEARER realm="${realm}"`, 'bearer', { realm }],
    ['lower-case scheme', `bearer realm="${realm}"`, 'bearer', { realm }],
    [
      'mixed-case parameter names',
      `Bearer Realm="${realm}",SERVICE="registry"`,
      'bearer',
      { realm, service: 'registry' },
    ],
    [
      'parameter name with underscore',
      'Bearer error_description="expired"',
      'bearer',
      { error_description: 'expired' },
    ],
    ['spaces around equals', `Bearer realm = "${realm}"`, 'bearer', { realm }],
    ['empty quoted value', 'Bearer realm=""', 'bearer', { realm: '' }],
    ['scheme without parameters', 'Negotiate', 'negotiate', {}],
    ['leading whitespace', `  Bearer realm="${realm}"`, 'bearer', { realm }],
  ];

  for (const [label, header, scheme, parameters] of cases) {
    it(`${label} scheme`, () => {
      assert.equal(parseChallenge(header)?.scheme, scheme);
    });

    it(`${label} parameters`, () => {
      assert.deepEqual(parseChallenge(header)?.parameters, parameters);
    });
  }

  it('keeps first challenge realm', () => {
    const header = `Bearer realm="${realm}",service="registry", Basic realm="fallback"`;

    assert.equal(parseChallenge(header)?.parameters.realm, realm);
  });

  const absent: [label: string, header: string | undefined][] = [
    ['undefined header', undefined],
    ['empty header', ''],
    ['whitespace-only header', '   '],
    ['header without scheme', '="value"'],
  ];

  for (const [label, header] of absent) {
    it(`${label} returns undefined`, () => {
      assert.equal(parseChallenge(header), undefined);
    });
  }
});
