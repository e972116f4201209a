import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { encodePurlSegment, languagePurl, type LanguagePackageType } from './purl.js';

describe('languagePurl', () => {
  const cases: [LanguagePackageType, string, string, string][] = [
    ['npm', 'lodash', '4.17.21', 'pkg:npm/lodash@4.17.21'],
    ['npm', '@types/node', '20.19.43', 'pkg:npm/%40types/node@20.19.43'],
    ['npm', 'left-pad', '1.0.0-beta+build.7', 'pkg:npm/left-pad@1.0.0-beta%2Bbuild.7'],
    ['pypi', 'PyYAML', '6.0', 'pkg:pypi/pyyaml@6.0'],
    ['pypi', 'typing_extensions', '4.4.0', 'pkg:pypi/typing-extensions@4.4.0'],
    ['pypi', 'lazr.restfulclient', '0.14.5', 'pkg:pypi/lazr.restfulclient@0.14.5'],
    [
      'golang',
      'github.com/containers/image/v5',
      'v5.24.2',
      'pkg:golang/github.com/containers/image/v5@v5.24.2',
    ],
    [
      'golang',
      'github.com/Azure/go-ansiterm',
      'v0.0.0-20230124172434-306776ec8161',
      'pkg:golang/github.com/Azure/go-ansiterm@v0.0.0-20230124172434-306776ec8161',
    ],
    [
      'golang',
      'github.com/docker/docker',
      'v24.0.7+incompatible',
      'pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible',
    ],
    ['golang', 'stdlib', '1.21.3', 'pkg:golang/stdlib@1.21.3'],
    ['maven', 'org.slf4j:slf4j-nop', '1.7.32', 'pkg:maven/org.slf4j/slf4j-nop@1.7.32'],
    ['cargo', 'wasi', '0.10.2+wasi-snapshot-preview1', 'pkg:cargo/wasi@0.10.2%2Bwasi-snapshot-preview1'],
  ];

  for (const [type, name, version, expected] of cases) {
    it(`builds ${expected}`, () => {
      assert.equal(languagePurl(type, name, version), expected);
    });
  }
});

describe('encodePurlSegment', () => {
  it('keeps only unreserved characters', () => {
    assert.equal(encodePurlSegment('a-b_c.d~e'), 'a-b_c.d~e');
    assert.equal(encodePurlSegment("x!'()*/@:+ é"), 'x%21%27%28%29%2A%2F%40%3A%2B%20%C3%A9');
  });
});
