/**
 * Malformed requests: each gets a 4xx with the spec's error body, never a 5xx, and stores nothing.
 * Paths with `..` or percent-encodings go through `requestVerbatim`, because `fetch` normalizes them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  assertClientError,
  assertOciError,
  assertRawClientError,
  assertRawOciError,
  type Content,
  createBlob,
  createEmptyConfig,
  createImage,
  createIndex,
  createManifest,
  createRandomBlob,
  descriptorOf,
  mediaTypes,
  OciClient,
  requestVerbatim,
  sendRawRequest,
  withQuery,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** The repository name grammar of the OCI Distribution Spec 1.1. */
const namePattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const repository = 'bad-input/existing';
const hex64 = 'a'.repeat(64);

const invalidNames: ReadonlyArray<readonly [string, string]> = [
  ['upper case', 'Bad-input/Repo'],
  ['dot-dot segment', 'bad-input/../repo'],
  ['dot segment', 'bad-input/./repo'],
  ['doubled slash', 'bad-input//repo'],
  ['trailing slash', 'bad-input/repo/'],
  ['leading slash', '/bad-input/repo'],
  ['empty name', ''],
  ['leading separator', '-bad-input/repo'],
  ['trailing period', 'bad-input/repo.'],
  ['triple underscore', 'bad___input/repo'],
  ['256 characters', `${'n'.repeat(128)}/${'m'.repeat(127)}`],
];

const validNames = ['a', 'a__b/c', 'a--b', 'a.b-c_d/e0/f', `${'n'.repeat(127)}/${'m'.repeat(127)}`];

const invalidDigests: ReadonlyArray<readonly [string, string]> = [
  ['unknown algorithm', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
  ['short sha256', `sha256:${'a'.repeat(63)}`],
  ['long sha256', `sha256:${'a'.repeat(65)}`],
  ['short sha512', `sha512:${'a'.repeat(127)}`],
  ['upper-case hex', `sha256:${'A'.repeat(64)}`],
  ['non-hex characters', `sha256:${'g'.repeat(64)}`],
  ['empty algorithm', `:${hex64}`],
  ['empty hex', 'sha256:'],
];

describe('bad input', () => {
  let server: WharfServer;
  let client: OciClient;
  let existing: Content;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
    existing = createRandomBlob(100);
    await client.pushBlob(repository, existing);
  });

  after(async () => {
    await server?.dispose();
  });

  async function manifestStatus(path: string): Promise<number> {
    const response = await client.fetch(path);

    await response.arrayBuffer();

    return response.status;
  }

  async function blobStatus(repositoryName: string, digest: string): Promise<number> {
    const response = await client.fetch(`/v2/${repositoryName}/blobs/${digest}`, { method: 'HEAD' });

    await response.arrayBuffer();

    return response.status;
  }

  describe('invalid repository names', () => {
    for (const [label, name] of invalidNames) {
      it(`${label}: POST upload returns NAME_INVALID`, async () => {
        const response = await requestVerbatim(server.baseUrl, 'POST', `/v2/${name}/blobs/uploads/`);

        assertRawOciError(response, 400, 'NAME_INVALID');
      });

      it(`${label}: GET tags returns NAME_INVALID`, async () => {
        const response = await requestVerbatim(server.baseUrl, 'GET', `/v2/${name}/tags/list`);

        assertRawOciError(response, 400, 'NAME_INVALID');
      });

      it(`${label}: GET manifest returns NAME_INVALID`, async () => {
        const response = await requestVerbatim(server.baseUrl, 'GET', `/v2/${name}/manifests/latest`);

        assertRawOciError(response, 400, 'NAME_INVALID');
      });

      it(`${label}: PUT manifest returns NAME_INVALID`, async () => {
        const index = createIndex([]);
        const response = await requestVerbatim(server.baseUrl, 'PUT', `/v2/${name}/manifests/latest`, {
          headers: { 'content-type': index.mediaType },
          body: index.bytes,
        });

        assertRawOciError(response, 400, 'NAME_INVALID');
      });
    }

    for (const name of validNames) {
      it(`valid name of ${name.length} characters is accepted`, async () => {
        const response = await client.fetch(`/v2/${name}/blobs/uploads/`, { method: 'POST' });

        await response.arrayBuffer();
        assert.equal(response.status, 202, `POST upload for ${name}`);
      });
    }

    it('catalog lists only valid names', async () => {
      const { body } = await client.getJson<{ repositories: string[] }>('/v2/_catalog');

      for (const name of body.repositories) {
        assert.match(name, namePattern);
      }
    });
  });

  describe('invalid tags', () => {
    const invalidTags: ReadonlyArray<readonly [string, string]> = [
      ['129 characters', 't'.repeat(129)],
      ['leading period', '.tag'],
      ['leading dash', '-tag'],
      ['plus sign', 'tag+build'],
    ];

    for (const [label, tag] of invalidTags) {
      it(`${label} returns 400`, async () => {
        const index = createIndex([]);
        const response = await client.putManifest(repository, tag, index);

        assert.equal(response.status, 400);
        await assertClientError(response);
      });
    }

    for (const tag of ['t'.repeat(128), '_lead', 'Upper.Case-1_x']) {
      it(`tag of ${tag.length} characters is accepted`, async () => {
        const index = createIndex([]);
        const response = await client.putManifest(repository, tag, index);

        await response.arrayBuffer();
        assert.equal(response.status, 201);
      });
    }
  });

  describe('invalid digests', () => {
    for (const [label, digest] of invalidDigests) {
      it(`${label}: GET blob returns DIGEST_INVALID`, async () => {
        const response = await client.fetch(`/v2/${repository}/blobs/${digest}`);

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });

      it(`${label}: HEAD blob returns 400`, async () => {
        const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });

        await response.arrayBuffer();
        assert.equal(response.status, 400);
      });

      it(`${label}: DELETE blob returns DIGEST_INVALID`, async () => {
        const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, { method: 'DELETE' });

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });

      it(`${label}: single POST returns DIGEST_INVALID`, async () => {
        const response = await client.fetch(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          headers: { 'content-type': mediaTypes.octetStream },
          body: Buffer.from('some bytes'),
        });

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });

      it(`${label}: closing PUT returns DIGEST_INVALID`, async () => {
        const location = await client.startUpload(repository);
        const response = await client.fetch(withQuery(location, [['digest', digest]]), {
          method: 'PUT',
          headers: { 'content-type': mediaTypes.octetStream },
          body: Buffer.from('some bytes'),
        });

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });

      it(`${label}: mount returns DIGEST_INVALID`, async () => {
        const response = await client.fetch(
          `/v2/${repository}-target/blobs/uploads/?mount=${digest}&from=${repository}`,
          { method: 'POST' },
        );

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });

      it(`${label}: GET manifest returns 400`, async () => {
        const response = await client.fetch(`/v2/${repository}/manifests/${digest}`);

        await assertOciError(response, 400, ['DIGEST_INVALID', 'MANIFEST_INVALID']);
      });

      it(`${label}: GET referrers returns 400`, async () => {
        const response = await client.fetch(`/v2/${repository}/referrers/${digest}`);

        await assertOciError(response, 400, 'DIGEST_INVALID');
      });
    }
  });

  describe('path traversal', () => {
    const attempts: ReadonlyArray<readonly [string, string, string]> = [
      ['dot-dot in the name', 'POST', '/v2/bad-input/../../blobs/uploads/'],
      ['encoded dot-dot in the name', 'GET', '/v2/bad-input/%2e%2e/secret/tags/list'],
      ['upper-case encoded dot-dot', 'GET', '/v2/bad-input/%2E%2E/secret/manifests/latest'],
      ['encoded slash in the name', 'GET', '/v2/bad-input%2Fsecret/tags/list'],
      ['encoded backslash in the name', 'GET', '/v2/bad-input%5c..%5csecret/tags/list'],
      ['encoded NUL in the name', 'GET', '/v2/bad-input%00/tags/list'],
      ['dot-dot as the digest', 'GET', `/v2/${repository}/blobs/../../../etc/passwd`],
      ['encoded dot-dot as the digest', 'GET', `/v2/${repository}/blobs/..%2F..%2F..%2Fetc%2Fpasswd`],
      ['dot-dot after the algorithm', 'GET', `/v2/${repository}/blobs/sha256:..%2F..%2Fwharf.db`],
      ['dot-dot as the upload id', 'GET', `/v2/${repository}/blobs/uploads/..%2F..%2Fwharf.db`],
      ['raw dot-dot as the upload id', 'PATCH', `/v2/${repository}/blobs/uploads/../../../x`],
      ['encoded dot-dot as the tag', 'GET', `/v2/${repository}/manifests/..%2F..%2Fsecret`],
      ['encoded dot-dot in referrers', 'GET', `/v2/${repository}/referrers/..%2F..%2Fwharf.db`],
    ];

    for (const [label, method, path] of attempts) {
      it(`${label} returns 4xx`, async () => {
        const response = await requestVerbatim(server.baseUrl, method, path);

        assertRawClientError(response);
      });
    }

    it('encoded slash in a pushed name stores nothing', async () => {
      const index = createIndex([]);
      const response = await requestVerbatim(
        server.baseUrl,
        'PUT',
        '/v2/bad-input%2Fencoded/manifests/latest',
        {
          headers: { 'content-type': index.mediaType },
          body: index.bytes,
        },
      );

      assertRawClientError(response);
      assert.equal(await manifestStatus('/v2/bad-input/encoded/manifests/latest'), 404);
    });

    it('encoded dot-dot in a pushed name stores nothing', async () => {
      const index = createIndex([]);
      const response = await requestVerbatim(
        server.baseUrl,
        'PUT',
        '/v2/bad-input/%2e%2e/escaped/manifests/latest',
        { headers: { 'content-type': index.mediaType }, body: index.bytes },
      );

      assertRawClientError(response);
      assert.equal(await manifestStatus('/v2/escaped/manifests/latest'), 404);
    });

    it('dot-dot in an upload name stores nothing', async () => {
      const blob = createRandomBlob(32);
      const response = await requestVerbatim(
        server.baseUrl,
        'POST',
        `/v2/bad-input/../escaped/blobs/uploads/?digest=${blob.digest}`,
        { headers: { 'content-type': mediaTypes.octetStream }, body: blob.bytes },
      );

      assertRawClientError(response);
      assert.equal(await blobStatus('escaped', blob.digest), 404);
    });
  });

  describe('invalid manifests', () => {
    const bodies: ReadonlyArray<readonly [string, string]> = [
      ['not JSON', 'this is not JSON'],
      ['truncated JSON', '{"schemaVersion": 2, "mediaType": '],
      ['JSON array', '[]'],
      ['JSON string', '"manifest"'],
      ['empty body', ''],
      [
        'schemaVersion 1',
        JSON.stringify({ schemaVersion: 1, mediaType: mediaTypes.imageManifest, config: {}, layers: [] }),
      ],
      [
        'missing config',
        JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.imageManifest, layers: [] }),
      ],
      [
        'layers not an array',
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.imageManifest,
          config: descriptorOf(createEmptyConfig()),
          layers: 'none',
        }),
      ],
      [
        'config without digest',
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.imageManifest,
          config: { mediaType: mediaTypes.empty, size: 2 },
          layers: [],
        }),
      ],
      [
        'config with a negative size',
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.imageManifest,
          config: { ...descriptorOf(createEmptyConfig()), size: -1 },
          layers: [],
        }),
      ],
    ];

    before(async () => {
      await client.pushBlob(repository, createEmptyConfig());
    });

    for (const [label, text] of bodies) {
      it(`${label} returns MANIFEST_INVALID`, async () => {
        const tag = `invalid-${label.replaceAll(' ', '-').toLowerCase()}`;
        const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, {
          method: 'PUT',
          headers: { 'content-type': mediaTypes.imageManifest },
          body: Buffer.from(text),
        });

        await assertOciError(response, 400, 'MANIFEST_INVALID');
        assert.equal(await manifestStatus(`/v2/${repository}/manifests/${tag}`), 404);
      });
    }

    it('config with an invalid digest returns 400', async () => {
      const text = JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.imageManifest,
        config: { mediaType: mediaTypes.empty, digest: 'sha256:xyz', size: 2 },
        layers: [],
      });
      const response = await client.fetch(`/v2/${repository}/manifests/bad-config-digest`, {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.imageManifest },
        body: Buffer.from(text),
      });

      await assertOciError(response, 400, ['MANIFEST_INVALID', 'DIGEST_INVALID']);
    });

    it('index with manifests not an array returns MANIFEST_INVALID', async () => {
      const text = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.imageIndex, manifests: {} });
      const response = await client.fetch(`/v2/${repository}/manifests/bad-index`, {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.imageIndex },
        body: Buffer.from(text),
      });

      await assertOciError(response, 400, 'MANIFEST_INVALID');
    });

    for (const contentType of ['application/x-unknown-manifest', 'text/plain', 'application/json']) {
      it(`Content-Type ${contentType} is rejected`, async () => {
        const image = createImage({ config: createEmptyConfig(), layers: [] });
        const tag = `type-${contentType.replaceAll(/[^a-z]/g, '-')}`;
        const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, {
          method: 'PUT',
          headers: { 'content-type': contentType },
          body: image.manifest.bytes,
        });
        const errors = await assertClientError(response);

        assert.ok(
          ['MANIFEST_INVALID', 'UNSUPPORTED'].includes(errors[0].code),
          `unexpected code ${errors[0].code}`,
        );
        assert.equal(await manifestStatus(`/v2/${repository}/manifests/${tag}`), 404);
      });
    }

    it('over 4 MiB returns 413 SIZE_INVALID and stores nothing', async () => {
      const padding = 'p'.repeat(4 * 1024 * 1024);
      const manifest = createManifest(
        {
          schemaVersion: 2,
          mediaType: mediaTypes.imageManifest,
          config: descriptorOf(createEmptyConfig()),
          layers: [],
          annotations: { 'org.example.padding': padding },
        },
        mediaTypes.imageManifest,
      );
      const response = await client.putManifest(repository, 'oversized', manifest);

      await assertOciError(response, 413, 'SIZE_INVALID');
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/oversized`), 404);
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/${manifest.digest}`), 404);
    });
  });

  describe('manifest references', () => {
    it('layer only in another repository returns MANIFEST_BLOB_UNKNOWN', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      for (const layer of image.layers) {
        await client.pushBlob('bad-input/elsewhere', layer);
      }

      const response = await client.putManifest(repository, 'foreign-layer', image.manifest);

      await assertOciError(response, 400, 'MANIFEST_BLOB_UNKNOWN');
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/foreign-layer`), 404);
    });

    it('missing layer stores nothing', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      const response = await client.putManifest(repository, 'missing-layer', image.manifest);

      await assertOciError(response, 400, 'MANIFEST_BLOB_UNKNOWN');
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/missing-layer`), 404);
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/${image.manifest.digest}`), 404);

      const hex = image.manifest.digest.slice('sha256:'.length);
      const manifestPath = join(server.rootDirectory, 'blobs', 'sha256', hex.slice(0, 2), hex);

      assert.equal(existsSync(manifestPath), false, 'rejected manifest bytes were written to blob storage');
    });

    it('wrong layer size is rejected', async () => {
      const image = createImage();

      await client.pushImage(repository, image.manifest.digest, image);

      const document = JSON.parse(Buffer.from(image.manifest.bytes).toString('utf8')) as {
        layers: { size: number }[];
      };

      document.layers[0].size += 1;

      const wrong = createManifest(document, mediaTypes.imageManifest);
      const response = await client.putManifest(repository, 'wrong-size', wrong);

      await assertOciError(response, 400, 'MANIFEST_INVALID');
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/wrong-size`), 404);
    });

    it('index with a missing child is rejected', async () => {
      const present = createImage();
      const missing = createImage();

      await client.pushImage(repository, present.manifest.digest, present);

      const index = createIndex([present.manifest, missing.manifest]);
      const response = await client.putManifest(repository, 'missing-child', index);
      const text = await response.text();
      const code = (JSON.parse(text) as { errors: { code: string }[] }).errors[0]?.code;

      // Wharf names the missing child with MANIFEST_UNKNOWN, and returns 400 because the PUT is at fault.
      assert.equal(response.status, 400, text);
      assert.equal(code, 'MANIFEST_UNKNOWN', text);
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/missing-child`), 404);
    });

    it('missing subject is accepted', async () => {
      const absent = createImage();
      const referrer = createImage({
        config: createEmptyConfig(),
        layers: [],
        artifactType: 'application/vnd.example.note.v1',
        subject: descriptorOf(absent.manifest),
      });
      const response = await client.putManifest(repository, referrer.manifest.digest, referrer.manifest);

      await response.arrayBuffer();
      assert.equal(response.status, 201);
    });
  });

  describe('Content-Length not matching the body', () => {
    function rawHead(method: string, path: string, contentType: string, contentLength: number): string {
      return [
        `${method} ${path} HTTP/1.1`,
        `Host: ${server.hostPort}`,
        `Content-Type: ${contentType}`,
        `Content-Length: ${contentLength}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');
    }

    it('shorter Content-Length on a blob returns 4xx and stores nothing', async () => {
      const blob = createRandomBlob(100);
      const head = rawHead(
        'POST',
        `/v2/${repository}/blobs/uploads/?digest=${blob.digest}`,
        mediaTypes.octetStream,
        50,
      );
      const response = await sendRawRequest(server.baseUrl, head, blob.bytes, { halfClose: false });

      assert.ok(response, 'no response');
      assertRawClientError(response);
      assert.equal(await blobStatus(repository, blob.digest), 404);
      assert.equal(await blobStatus(repository, createBlob(blob.bytes.subarray(0, 50)).digest), 404);
    });

    it('invalid method returns 400 and is logged', async () => {
      const head = ['PROPFIND1 /v2/ HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', '', ''].join('\r\n');
      const response = await sendRawRequest(server.baseUrl, head, Buffer.alloc(0), { halfClose: false });
      const logged = await server.waitForLog(
        (record) => record.msg === 'malformed request rejected' && record.reason === 'HPE_INVALID_METHOD',
      );

      assert.ok(response, 'no response');
      assertRawClientError(response);
      assert.equal(logged.length, 1);
    });

    it('TLS handshake is not logged as malformed', async () => {
      const isMalformedLine = (record: Record<string, unknown>) =>
        record.msg === 'malformed request rejected';
      const before = server.logRecords().filter(isMalformedLine).length;
      // The first bytes of a TLS ClientHello: a handshake record of TLS 1.0 framing, as clients send it.
      const clientHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]);
      const response = await sendRawRequest(server.baseUrl, '', clientHello, { halfClose: false });

      assert.ok(response, 'no response');
      assertRawClientError(response);

      // A malformed request sent after it is logged, so the log has caught up once that line appears.
      const head = ['GET /v2/ HTTP/1.1', 'Bad Header: 1', 'Connection: close', '', ''].join('\r\n');

      await sendRawRequest(server.baseUrl, head, Buffer.alloc(0), { halfClose: false });
      await server.waitForLog(
        (record) => isMalformedLine(record) && record.reason === 'HPE_INVALID_HEADER_TOKEN',
      );

      const added = server.logRecords().filter(isMalformedLine).slice(before);

      assert.deepEqual(
        added.map((record) => record.reason),
        ['HPE_INVALID_HEADER_TOKEN'],
      );
    });

    it('longer Content-Length on a blob stores nothing', async () => {
      const blob = createRandomBlob(100);
      const head = rawHead(
        'POST',
        `/v2/${repository}/blobs/uploads/?digest=${blob.digest}`,
        mediaTypes.octetStream,
        200,
      );
      const response = await sendRawRequest(server.baseUrl, head, blob.bytes, {
        halfClose: true,
        timeoutMs: 5_000,
      });

      if (response !== undefined) {
        assertRawClientError(response);
      }

      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('shorter Content-Length on a manifest returns 4xx and stores nothing', async () => {
      const index = createIndex([]);
      const head = rawHead(
        'PUT',
        `/v2/${repository}/manifests/short-length`,
        mediaTypes.imageIndex,
        index.size - 10,
      );
      const response = await sendRawRequest(server.baseUrl, head, index.bytes, { halfClose: false });

      assert.ok(response, 'no response');
      assertRawClientError(response);
      assert.equal(await manifestStatus(`/v2/${repository}/manifests/short-length`), 404);
    });

    it('longer Content-Length on a manifest stores nothing', async () => {
      const index = createIndex([]);
      const head = rawHead(
        'PUT',
        `/v2/${repository}/manifests/long-length`,
        mediaTypes.imageIndex,
        index.size + 10,
      );
      const response = await sendRawRequest(server.baseUrl, head, index.bytes, {
        halfClose: true,
        timeoutMs: 5_000,
      });

      if (response !== undefined) {
        assertRawClientError(response);
      }

      assert.equal(await manifestStatus(`/v2/${repository}/manifests/long-length`), 404);
    });

    it('shorter Content-Length on a PATCH keeps the session', async () => {
      const blob = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const url = new URL(location);
      const head = rawHead('PATCH', url.pathname + url.search, mediaTypes.octetStream, 40);
      const response = await sendRawRequest(server.baseUrl, head, blob.bytes, { halfClose: false });

      assert.ok(response, 'no response');

      if (response.status !== 202) {
        assertRawClientError(response);
      }

      const status = await client.fetch(location);

      await status.arrayBuffer();
      assert.equal(status.status, 204);
    });
  });

  describe('upload sessions', () => {
    it('PATCH on an unknown session returns BLOB_UPLOAD_UNKNOWN', async () => {
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/${randomUUID()}`, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '0-3' },
        body: Buffer.from('data'),
      });

      await assertOciError(response, 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('PUT on an unknown session returns BLOB_UPLOAD_UNKNOWN', async () => {
      const blob = createBlob('data');
      const response = await client.fetch(
        `/v2/${repository}/blobs/uploads/${randomUUID()}?digest=${blob.digest}`,
        {
          method: 'PUT',
          headers: { 'content-type': mediaTypes.octetStream },
          body: blob.bytes,
        },
      );

      await assertOciError(response, 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('malformed session id returns 4xx', async () => {
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/not-a-session`);
      const errors = await assertClientError(response);

      assert.ok(
        ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'].includes(errors[0].code),
        `unexpected code ${errors[0].code}`,
      );
    });

    it('PATCH and PUT on a cancelled session return BLOB_UPLOAD_UNKNOWN', async () => {
      const blob = createBlob('cancelled data');
      const location = await client.startUpload(repository);
      const cancel = await client.fetch(location, { method: 'DELETE' });

      await cancel.arrayBuffer();

      const patch = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await assertOciError(patch, 404, 'BLOB_UPLOAD_UNKNOWN');

      const put = await client.fetch(withQuery(location, [['digest', blob.digest]]), {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await assertOciError(put, 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    for (const contentRange of ['abc', '3-0', '0-']) {
      it(`Content-Range "${contentRange}" returns 400 or 416`, async () => {
        const location = await client.startUpload(repository);
        const response = await client.fetch(location, {
          method: 'PATCH',
          headers: { 'content-type': mediaTypes.octetStream, 'content-range': contentRange },
          body: Buffer.from('data'),
        });
        const errors = await assertClientError(response);

        assert.ok([400, 416].includes(response.status), `status ${response.status}`);
        assert.ok(
          ['BLOB_UPLOAD_INVALID', 'SIZE_INVALID'].includes(errors[0].code),
          `unexpected code ${errors[0].code}`,
        );
      });
    }
  });

  describe('routes', () => {
    for (const path of [`/v2/${repository}/unknown-endpoint`, '/v2/_unknown']) {
      it(`${path} returns 404 UNSUPPORTED`, async () => {
        const response = await client.fetch(path);

        await assertOciError(response, 404, 'UNSUPPORTED');
      });
    }

    const wrongMethods: ReadonlyArray<readonly [string, string]> = [
      ['POST', `/v2/${repository}/manifests/latest`],
      ['PATCH', `/v2/${repository}/tags/list`],
      ['PUT', `/v2/${repository}/blobs/sha256:${hex64}`],
      ['DELETE', '/v2/'],
      ['POST', `/v2/${repository}/referrers/sha256:${hex64}`],
    ];

    for (const [method, path] of wrongMethods) {
      it(`${method} ${path.replace(hex64, '<hex>')} returns 405 UNSUPPORTED`, async () => {
        const response = await client.fetch(path, { method });

        await assertOciError(response, 405, 'UNSUPPORTED');
      });
    }
  });
});
