import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { invalidOciRoute, routeLabel, unmatchedRoute } from './route-label.js';

const digest = `sha256:${'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}`;
const uploadId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

describe('routeLabel', () => {
  const ociCases: Array<[string, string]> = [
    ['/v2', '/v2/'],
    ['/v2/', '/v2/'],
    ['/v2/_catalog?n=10', '/v2/_catalog'],
    ['/v2/team/app/manifests/latest', '/v2/<name>/manifests/<reference>'],
    [`/v2/a/b/c/manifests/${digest}`, '/v2/<name>/manifests/<reference>'],
    [`/v2/team/app/blobs/${digest}`, '/v2/<name>/blobs/<digest>'],
    ['/v2/team/app/blobs/uploads/', '/v2/<name>/blobs/uploads/'],
    [`/v2/team/app/blobs/uploads/?digest=${digest}`, '/v2/<name>/blobs/uploads/'],
    [`/v2/team/app/blobs/uploads/${uploadId}?_state=x`, '/v2/<name>/blobs/uploads/<reference>'],
    ['/v2/team/app/tags/list?n=5&last=v1', '/v2/<name>/tags/list'],
    [`/v2/team/app/referrers/${digest}?artifactType=x`, '/v2/<name>/referrers/<digest>'],
  ];

  for (const [url, expected] of ociCases) {
    it(`labels ${url}`, () => {
      assert.equal(routeLabel(url, '/v2/*'), expected);
    });
  }

  const invalidPaths = [
    '/v2/Team/manifests/latest',
    '/v2/team/app/manifests/bad:tag',
    '/v2/team/app/blobs/sha256:short',
    '/v2/team/app/blobs/uploads/not-an-id',
    '/v2/team/app/unknown/thing',
    '/v2/team%2Fapp/manifests/latest',
    '/v2/x',
  ];

  for (const url of invalidPaths) {
    it(`labels ${url} as invalid`, () => {
      assert.equal(routeLabel(url, '/v2/*'), invalidOciRoute);
    });
  }

  it('takes the endpoint the handler parsed', () => {
    // The kind wins over the path, which is not parsed again.
    assert.equal(
      routeLabel('/v2/Team/app/tags/list', '/v2/*', 'manifest'),
      '/v2/<name>/manifests/<reference>',
    );
  });

  it('keeps the matched route template', () => {
    assert.equal(routeLabel('/api/v1/apikeys/abc123', '/api/v1/apikeys/:id'), '/api/v1/apikeys/:id');
  });

  it('labels unrouted paths unmatched', () => {
    assert.equal(routeLabel('/some/random/path?x=1', undefined), unmatchedRoute);
  });

  it('does not treat /v2abc as /v2', () => {
    assert.equal(routeLabel('/v2abc/manifests/latest', undefined), unmatchedRoute);
  });
});
