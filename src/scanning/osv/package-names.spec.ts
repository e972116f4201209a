import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { normalizePackageKey, normalizePackageName } from './package-names.js';

describe('package name normalization', () => {
  it('applies PEP 503 to PyPI names', () => {
    const cases: [string, string][] = [
      ['Jinja2', 'jinja2'],
      ['zope.interface', 'zope-interface'],
      ['Zope_Interface', 'zope-interface'],
      ['ruamel.yaml.clib', 'ruamel-yaml-clib'],
      ['typing--extensions', 'typing-extensions'],
      ['a._-b', 'a-b'],
    ];

    for (const [name, expected] of cases) {
      assert.equal(normalizePackageName('PyPI', name), expected, name);
    }
  });

  it('keeps names of other ecosystems as written', () => {
    assert.equal(normalizePackageName('npm', '@Scope/Some_Package'), '@Scope/Some_Package');
    assert.equal(normalizePackageName('Debian:12', 'libssl3'), 'libssl3');
    assert.equal(normalizePackageName('Go', 'golang.org/x/text'), 'golang.org/x/text');
    assert.equal(
      normalizePackageName('Maven', 'com.fasterxml.jackson.core:jackson-databind'),
      'com.fasterxml.jackson.core:jackson-databind',
    );
  });

  it('normalizes PyPI names under an ecosystem suffix', () => {
    assert.equal(normalizePackageName('PyPI:extra', 'Jinja2'), 'jinja2');
    assert.equal(normalizePackageName('PyPIX', 'Jinja2'), 'Jinja2');
  });

  it('normalizes a whole key and keeps its ecosystem', () => {
    assert.deepEqual(normalizePackageKey({ ecosystem: 'PyPI', name: 'Requests' }), {
      ecosystem: 'PyPI',
      name: 'requests',
    });
  });
});
