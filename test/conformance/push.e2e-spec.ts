/**
 * Push workflow of the OCI Distribution Spec 1.1: monolithic uploads (end-4a + end-6, end-4b), chunked
 * uploads (end-5, end-6, end-13), cross-repository mounts (end-11) and manifest pushes (end-7).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertOciError,
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
  parseUploadRangeEnd,
  withQuery,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const fourMebibytes = 4 * 1024 * 1024;

/** Builds an image manifest with an empty config and no layers, padded by an annotation to `size` bytes. */
function createManifestOfSize(size: number, config: Content): Content {
  const build = (padding: string): Content =>
    createManifest(
      {
        schemaVersion: 2,
        mediaType: mediaTypes.imageManifest,
        config: descriptorOf(config),
        layers: [],
        annotations: { 'org.example.padding': padding },
      },
      mediaTypes.imageManifest,
    );
  const unpaddedSize = build('').size;

  return build('p'.repeat(size - unpaddedSize));
}

describe('push workflow', () => {
  let server: WharfServer;
  let client: OciClient;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
  });

  describe('POST then PUT', () => {
    const repository = 'conformance/push-monolithic';

    it('POST returns 202 with a Location', async () => {
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });

    it('Location contains a UUID', async () => {
      const location = await client.startUpload(repository);

      assert.match(location, uuidPattern);
    });

    it('PUT returns 201 with a Location', async () => {
      const blob = createRandomBlob(1000);
      const location = await client.startUpload(repository);
      const response = await client.fetch(withQuery(location, [['digest', blob.digest]]), {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });

    it('blob Location is pullable', async () => {
      const blob = createRandomBlob(1000);
      const location = await client.startUpload(repository);
      const put = await client.fetch(withQuery(location, [['digest', blob.digest]]), {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await put.arrayBuffer();

      const get = await client.fetch(client.locationOf(put));
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, blob.bytes);
    });
  });

  describe('single POST', () => {
    const repository = 'conformance/push-single-post';

    it('returns 201 with a Location', async () => {
      const blob = createRandomBlob(512);
      const response = await client.postBlob(repository, blob);

      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });

    it('blob Location is pullable', async () => {
      const blob = createRandomBlob(512);
      const post = await client.postBlob(repository, blob);

      await post.arrayBuffer();

      const get = await client.fetch(client.locationOf(post));
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, blob.bytes);
    });
  });

  describe('chunked upload', () => {
    const repository = 'conformance/push-chunked';

    it('POST with Content-Length 0 returns 202', async () => {
      // fetch sends `Content-Length: 0` for a request without a body.
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });

    it('each PATCH returns 202 with Location and Range', async () => {
      const blob = createRandomBlob(300);
      let location = await client.startUpload(repository);

      for (const [start, end] of [
        [0, 99],
        [100, 199],
      ] as const) {
        const response = await client.fetch(location, {
          method: 'PATCH',
          headers: { 'content-type': mediaTypes.octetStream, 'content-range': `${start}-${end}` },
          body: blob.bytes.subarray(start, end + 1),
        });

        await response.arrayBuffer();
        assert.equal(response.status, 202, `PATCH ${start}-${end}`);
        assert.ok(response.headers.get('location'), `Location is missing after ${start}-${end}`);
        assert.equal(response.headers.get('range'), `0-${end}`);
        location = client.locationOf(response);
      }
    });

    it('PUT after the last PATCH returns 201', async () => {
      const blob = createRandomBlob(300);
      let location = await client.startUpload(repository);

      for (const [start, end] of [
        [0, 149],
        [150, 299],
      ] as const) {
        const response = await client.fetch(location, {
          method: 'PATCH',
          headers: { 'content-type': mediaTypes.octetStream, 'content-range': `${start}-${end}` },
          body: blob.bytes.subarray(start, end + 1),
        });

        await response.arrayBuffer();
        assert.equal(response.status, 202, `PATCH ${start}-${end}`);
        location = client.locationOf(response);
      }

      const put = await client.fetch(withQuery(location, [['digest', blob.digest]]), { method: 'PUT' });

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const get = await client.fetch(client.locationOf(put));
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, blob.bytes);
    });

    it('final chunk in the closing PUT', async () => {
      const blob = createRandomBlob(200);
      const location = await client.startUpload(repository);
      const patch = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '0-99' },
        body: blob.bytes.subarray(0, 100),
      });

      await patch.arrayBuffer();
      assert.equal(patch.status, 202);

      const put = await client.fetch(withQuery(client.locationOf(patch), [['digest', blob.digest]]), {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '100-199' },
        body: blob.bytes.subarray(100),
      });

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const get = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, blob.bytes);
    });

    it('out-of-order chunk returns 416', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const first = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '0-99' },
        body: blob.bytes.subarray(0, 100),
      });

      await first.arrayBuffer();

      const skipped = await client.fetch(client.locationOf(first), {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '200-299' },
        body: blob.bytes.subarray(200, 300),
      });

      await skipped.arrayBuffer();
      assert.equal(skipped.status, 416);
    });

    it('status GET after a 416 returns 204 with Location and Range', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const first = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '0-99' },
        body: blob.bytes.subarray(0, 100),
      });

      await first.arrayBuffer();

      const skipped = await client.fetch(client.locationOf(first), {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '150-299' },
        body: blob.bytes.subarray(150, 300),
      });

      await skipped.arrayBuffer();
      assert.equal(skipped.status, 416);

      const status = await client.fetch(client.locationOf(first));

      await status.arrayBuffer();
      assert.equal(status.status, 204);
      assert.ok(status.headers.get('location'), 'Location is missing');
      assert.equal(parseUploadRangeEnd(status), 99);
    });
  });

  describe('mount', () => {
    it('returns 201 with a Location when the source has the blob', async () => {
      const blob = createRandomBlob(256);

      await client.pushBlob('conformance/mount-source', blob);

      const response = await client.fetch(
        `/v2/conformance/mount-target/blobs/uploads/?mount=${blob.digest}&from=conformance/mount-source`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });

    it('mounted blob is pullable from the target', async () => {
      const blob = createRandomBlob(256);

      await client.pushBlob('conformance/mount-source', blob);

      const mount = await client.fetch(
        `/v2/conformance/mount-target/blobs/uploads/?mount=${blob.digest}&from=conformance/mount-source`,
        { method: 'POST' },
      );

      await mount.arrayBuffer();

      const get = await client.fetch(client.locationOf(mount));
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, blob.bytes);
    });

    it('returns 202 when the source lacks the blob', async () => {
      const blob = createRandomBlob(256);
      const response = await client.fetch(
        `/v2/conformance/mount-target/blobs/uploads/?mount=${blob.digest}&from=conformance/mount-source`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.equal(response.status, 202);
      assert.ok(response.headers.get('location'), 'Location is missing');
    });
  });

  describe('PUT manifest', () => {
    const repository = 'conformance/push-manifest';

    it('by tag returns 201 with a pullable Location', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      for (const layer of image.layers) {
        await client.pushBlob(repository, layer);
      }

      const put = await client.putManifest(repository, 'tagged', image.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const get = await client.fetch(client.locationOf(put));
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, image.manifest.bytes);
    });

    it('sets Docker-Content-Digest to the manifest digest', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      for (const layer of image.layers) {
        await client.pushBlob(repository, layer);
      }

      const put = await client.putManifest(repository, 'digest-header', image.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('by digest returns 201', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      for (const layer of image.layers) {
        await client.pushBlob(repository, layer);
      }

      const put = await client.putManifest(repository, image.manifest.digest, image.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('by a digest of other bytes returns 400', async () => {
      const image = createImage({ layers: [] });

      await client.pushBlob(repository, image.config);

      const wrongDigest = createBlob('other bytes').digest;
      const put = await client.putManifest(repository, wrongDigest, image.manifest);

      await assertOciError(put, 400, 'DIGEST_INVALID');

      const get = await client.fetch(`/v2/${repository}/manifests/${image.manifest.digest}`);

      await get.arrayBuffer();
      assert.equal(get.status, 404);
    });

    it('with no layers returns 201', async () => {
      const config = createEmptyConfig();
      const manifest = createImage({ config, layers: [], artifactType: 'application/vnd.example.empty.v1' });

      await client.pushBlob(repository, config);

      const put = await client.putManifest(repository, 'no-layers', manifest.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
    });

    it('with an unknown layer returns MANIFEST_BLOB_UNKNOWN', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);
      await client.pushBlob(repository, image.layers[0]);

      const put = await client.putManifest(repository, 'missing-layer', image.manifest);

      await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('with an unknown config returns MANIFEST_BLOB_UNKNOWN', async () => {
      const image = createImage();

      for (const layer of image.layers) {
        await client.pushBlob(repository, layer);
      }

      const put = await client.putManifest(repository, 'missing-config', image.manifest);

      await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('retagging points the tag at the new manifest', async () => {
      const first = createImage();
      const second = createImage();

      await client.pushImage(repository, 'moving', first);
      await client.pushImage(repository, 'moving', second);

      const get = await client.fetch(`/v2/${repository}/manifests/moving`);
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.deepEqual(body, second.manifest.bytes);
    });

    it('ignores Content-Type parameters', async () => {
      const index = createIndex([]);
      const put = await client.fetch(`/v2/${repository}/manifests/with-parameter`, {
        method: 'PUT',
        headers: { 'content-type': `${mediaTypes.imageIndex}; charset=utf-8` },
        body: index.bytes,
      });

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const get = await client.fetch(`/v2/${repository}/manifests/with-parameter`);

      await get.arrayBuffer();
      assert.equal(get.headers.get('content-type'), mediaTypes.imageIndex);
    });

    it('accepts a 4 MiB manifest', async () => {
      const config = createEmptyConfig();
      const manifest = createManifestOfSize(fourMebibytes, config);

      assert.equal(manifest.size, fourMebibytes);
      await client.pushBlob(repository, config);

      const put = await client.putManifest(repository, 'four-mebibytes', manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const get = await client.fetch(`/v2/${repository}/manifests/four-mebibytes`);
      const body = Buffer.from(await get.arrayBuffer());

      assert.equal(get.status, 200);
      assert.equal(body.length, fourMebibytes);
    });

    it('over the size limit returns 413', async () => {
      const config = createEmptyConfig();
      const manifest = createManifestOfSize(fourMebibytes + 1, config);

      await client.pushBlob(repository, config);

      const put = await client.putManifest(repository, 'too-large', manifest);

      await assertOciError(put, 413, 'SIZE_INVALID');

      const get = await client.fetch(`/v2/${repository}/manifests/too-large`);

      await get.arrayBuffer();
      assert.equal(get.status, 404);
    });
  });

  describe('PUT manifest with subject', () => {
    const repository = 'conformance/push-subject';

    it('sets OCI-Subject', async () => {
      const subject = createImage();

      await client.pushImage(repository, 'subject', subject);

      const config = createEmptyConfig();
      const referrer = createImage({
        config,
        layers: [createBlob('signature payload', 'application/vnd.example.signature.v1')],
        artifactType: 'application/vnd.example.signature.v1',
        subject: descriptorOf(subject.manifest),
      });

      await client.pushBlob(repository, config);
      await client.pushBlob(repository, referrer.layers[0]);

      const put = await client.putManifest(repository, referrer.manifest.digest, referrer.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('oci-subject'), subject.manifest.digest);
    });

    it('accepts a subject that does not exist yet', async () => {
      const absentSubject = createImage();
      const config = createEmptyConfig();
      const referrer = createImage({
        config,
        layers: [createBlob('sbom payload', 'application/vnd.example.sbom.v1')],
        artifactType: 'application/vnd.example.sbom.v1',
        subject: descriptorOf(absentSubject.manifest),
      });

      await client.pushBlob(repository, config);
      await client.pushBlob(repository, referrer.layers[0]);

      const put = await client.putManifest(repository, referrer.manifest.digest, referrer.manifest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('oci-subject'), absentSubject.manifest.digest);
    });
  });

  describe('PUT manifest with several tags', () => {
    const repository = 'conformance/push-tags';

    it('creates every tag', async () => {
      const image = createImage();

      await client.pushBlob(repository, image.config);

      for (const layer of image.layers) {
        await client.pushBlob(repository, layer);
      }

      const put = await client.putManifest(
        repository,
        image.manifest.digest,
        image.manifest,
        '?tag=first&tag=second&tag=third',
      );

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      for (const tag of ['first', 'second', 'third']) {
        const get = await client.fetch(`/v2/${repository}/manifests/${tag}`);

        await get.arrayBuffer();
        assert.equal(get.status, 200, `GET tag ${tag}`);
        assert.equal(get.headers.get('docker-content-digest'), image.manifest.digest, `digest of tag ${tag}`);
      }
    });
  });
});
