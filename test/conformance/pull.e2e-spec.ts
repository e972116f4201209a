/**
 * Pull workflow of the OCI Distribution Spec 1.1: `GET /v2/` (end-1), blobs GET/HEAD (end-2) and
 * manifests GET/HEAD (end-3). Registries must support every API of this category.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertOciError,
  createBlob,
  createEmptyConfig,
  createImage,
  createIndex,
  descriptorOf,
  digestMatches,
  type Image,
  mediaTypes,
  OciClient,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const repository = 'conformance/pull';
const tag = 'v1';

describe('pull workflow', () => {
  let server: WharfServer;
  let client: OciClient;
  let image: Image;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
    image = createImage({ layerCount: 3 });
    await client.pushImage(repository, tag, image);
  });

  after(async () => {
    await server?.dispose();
  });

  describe('GET /v2/', () => {
    it('returns 200', async () => {
      const response = await client.fetch('/v2/');

      await response.arrayBuffer();
      assert.equal(response.status, 200);
    });

    it('sets Docker-Distribution-API-Version', async () => {
      const response = await client.fetch('/v2/');

      await response.arrayBuffer();
      assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    });
  });

  describe('GET manifest', () => {
    it('by tag returns the pushed bytes', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, {
        headers: { accept: mediaTypes.imageManifest },
      });
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.deepEqual(body, image.manifest.bytes);
    });

    it('by tag sets Content-Type to the pushed type', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, {
        headers: { accept: mediaTypes.imageManifest },
      });

      await response.arrayBuffer();
      assert.equal(response.headers.get('content-type'), mediaTypes.imageManifest);
    });

    it('by tag sets Docker-Content-Digest', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, {
        headers: { accept: mediaTypes.imageManifest },
      });
      const body = Buffer.from(await response.arrayBuffer());
      const digest = response.headers.get('docker-content-digest');

      assert.equal(digest, image.manifest.digest);
      assert.ok(digestMatches(digest ?? '', body), 'Docker-Content-Digest does not match the body');
    });

    it('by digest returns the pushed bytes', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${image.manifest.digest}`, {
        headers: { accept: mediaTypes.imageManifest },
      });
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.deepEqual(body, image.manifest.bytes);
      assert.equal(response.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('without Accept returns 200', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`);

      await response.arrayBuffer();
      assert.equal(response.status, 200);
    });

    it('unknown tag returns 404', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/no-such-tag`);

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('unknown digest returns 404', async () => {
      const digest = createBlob('not a pushed manifest').digest;
      const response = await client.fetch(`/v2/${repository}/manifests/${digest}`);

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('unknown repository returns 404', async () => {
      const response = await client.fetch(`/v2/conformance/no-such-repository/manifests/${tag}`);

      await assertOciError(response, 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
    });

    it('from another repository returns 404', async () => {
      const other = createImage();

      await client.pushImage('conformance/pull-other', 'v1', other);

      const response = await client.fetch(`/v2/${repository}/manifests/${other.manifest.digest}`);

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });
  });

  describe('HEAD manifest', () => {
    it('by tag returns 200 without a body', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, { method: 'HEAD' });
      const body = await response.arrayBuffer();

      assert.equal(response.status, 200);
      assert.equal(body.byteLength, 0);
    });

    it('by tag sets Docker-Content-Digest', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('by tag sets Content-Length', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${tag}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.headers.get('content-length'), String(image.manifest.size));
    });

    it('by digest returns 200', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/${image.manifest.digest}`, {
        method: 'HEAD',
      });

      await response.arrayBuffer();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('headers match GET', async () => {
      const path = `/v2/${repository}/manifests/${tag}`;
      const head = await client.fetch(path, { method: 'HEAD' });
      const get = await client.fetch(path);

      await head.arrayBuffer();
      await get.arrayBuffer();
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'));
      assert.equal(head.headers.get('content-length'), get.headers.get('content-length'));
      assert.equal(head.headers.get('docker-content-digest'), get.headers.get('docker-content-digest'));
    });

    it('unknown tag returns 404', async () => {
      const response = await client.fetch(`/v2/${repository}/manifests/no-such-tag`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.status, 404);
    });

    it('unknown digest returns 404', async () => {
      const digest = createBlob('not a pushed manifest either').digest;
      const response = await client.fetch(`/v2/${repository}/manifests/${digest}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.status, 404);
    });
  });

  describe('GET blob', () => {
    it('returns each layer and the config', async () => {
      for (const blob of [image.config, ...image.layers]) {
        const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);
        const body = Buffer.from(await response.arrayBuffer());

        assert.equal(response.status, 200, `GET ${blob.digest}`);
        assert.deepEqual(body, blob.bytes, `body of ${blob.digest}`);
      }
    });

    it('sets a Docker-Content-Digest that matches the body', async () => {
      const layer = image.layers[0];
      const response = await client.fetch(`/v2/${repository}/blobs/${layer.digest}`);
      const body = Buffer.from(await response.arrayBuffer());
      const digest = response.headers.get('docker-content-digest');

      assert.ok(digest !== null, 'Docker-Content-Digest is missing');
      assert.ok(digestMatches(digest, body), `Docker-Content-Digest ${digest} does not match the body`);
    });

    it('unknown digest returns 404', async () => {
      const digest = createBlob('never pushed').digest;
      const response = await client.fetch(`/v2/${repository}/blobs/${digest}`);

      await assertOciError(response, 404, 'BLOB_UNKNOWN');
    });

    it('from another repository returns 404', async () => {
      const blob = createBlob('pushed to another repository');

      await client.pushBlob('conformance/pull-blob-other', blob);

      const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);

      await assertOciError(response, 404, 'BLOB_UNKNOWN');
    });

    it('unknown repository returns 404', async () => {
      const response = await client.fetch(`/v2/conformance/no-such-repository/blobs/${image.config.digest}`);

      await assertOciError(response, 404, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']);
    });
  });

  describe('HEAD blob', () => {
    it('returns 200 without a body', async () => {
      const layer = image.layers[1];
      const response = await client.fetch(`/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD' });
      const body = await response.arrayBuffer();

      assert.equal(response.status, 200);
      assert.equal(body.byteLength, 0);
    });

    it('sets Content-Length to the blob size', async () => {
      const layer = image.layers[1];
      const response = await client.fetch(`/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.headers.get('content-length'), String(layer.size));
    });

    it('sets Docker-Content-Digest', async () => {
      const layer = image.layers[1];
      const response = await client.fetch(`/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.headers.get('docker-content-digest'), layer.digest);
    });

    it('unknown digest returns 404', async () => {
      const digest = createBlob('never pushed, checked with HEAD').digest;
      const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.status, 404);
    });
  });

  describe('manifest types', () => {
    it('image index round-trips', async () => {
      const amd64 = createImage();
      const arm64 = createImage();
      const index = createIndex([amd64.manifest, arm64.manifest]);

      await client.pushImage('conformance/pull-index', amd64.manifest.digest, amd64);
      await client.pushImage('conformance/pull-index', arm64.manifest.digest, arm64);
      await client.pushManifest('conformance/pull-index', 'multi', index);

      const response = await client.fetch('/v2/conformance/pull-index/manifests/multi', {
        headers: { accept: mediaTypes.imageIndex },
      });
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.imageIndex);
      assert.deepEqual(body, index.bytes);
    });

    it('index children pull by digest', async () => {
      const amd64 = createImage();
      const arm64 = createImage();
      const index = createIndex([amd64.manifest, arm64.manifest]);

      await client.pushImage('conformance/pull-children', amd64.manifest.digest, amd64);
      await client.pushImage('conformance/pull-children', arm64.manifest.digest, arm64);
      await client.pushManifest('conformance/pull-children', 'multi', index);

      for (const child of [amd64.manifest, arm64.manifest]) {
        const response = await client.fetch(`/v2/conformance/pull-children/manifests/${child.digest}`);
        const body = Buffer.from(await response.arrayBuffer());

        assert.equal(response.status, 200, `GET child ${child.digest}`);
        assert.deepEqual(body, child.bytes, `body of child ${child.digest}`);
      }
    });

    it('Docker schema 2 manifest round-trips', async () => {
      const docker = createImage({ manifestMediaType: mediaTypes.dockerManifest });

      await client.pushImage('conformance/pull-docker', 'v2s2', docker);

      const response = await client.fetch('/v2/conformance/pull-docker/manifests/v2s2', {
        headers: { accept: mediaTypes.dockerManifest },
      });
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.dockerManifest);
      assert.deepEqual(body, docker.manifest.bytes);
    });

    it('Docker manifest list round-trips', async () => {
      const first = createImage({ manifestMediaType: mediaTypes.dockerManifest });
      const second = createImage({ manifestMediaType: mediaTypes.dockerManifest });
      const list = createIndex([first.manifest, second.manifest], {
        mediaType: mediaTypes.dockerManifestList,
      });

      await client.pushImage('conformance/pull-docker-list', first.manifest.digest, first);
      await client.pushImage('conformance/pull-docker-list', second.manifest.digest, second);
      await client.pushManifest('conformance/pull-docker-list', 'list', list);

      const response = await client.fetch('/v2/conformance/pull-docker-list/manifests/list', {
        headers: { accept: mediaTypes.dockerManifestList },
      });
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.dockerManifestList);
      assert.deepEqual(body, list.bytes);
    });

    it('artifact manifest round-trips', async () => {
      const config = createEmptyConfig();
      const payload = createBlob('{"artifact":true}', 'application/vnd.example.payload.v1+json');
      const artifact = createImage({
        config,
        layers: [payload],
        artifactType: 'application/vnd.example.thing.v1',
      });

      await client.pushImage('conformance/pull-artifact', 'thing', artifact);

      const response = await client.fetch('/v2/conformance/pull-artifact/manifests/thing');
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.imageManifest);
      assert.deepEqual(body, artifact.manifest.bytes);
    });

    it('bytes are served as pushed', async () => {
      const config = createEmptyConfig();
      const layer = createBlob('layer for a hand-formatted manifest', mediaTypes.imageLayer);
      const text = [
        '{',
        '   "schemaVersion" : 2,',
        `   "mediaType" : "${mediaTypes.imageManifest}",`,
        `   "layers" : [ ${JSON.stringify(descriptorOf(layer))} ],`,
        `   "config" : ${JSON.stringify(descriptorOf(config))}`,
        '}',
        '',
      ].join('\n');
      const manifest = createBlob(text, mediaTypes.imageManifest);

      await client.pushBlob('conformance/pull-bytes', config);
      await client.pushBlob('conformance/pull-bytes', layer);
      await client.pushManifest('conformance/pull-bytes', 'formatted', manifest);

      const response = await client.fetch(`/v2/conformance/pull-bytes/manifests/${manifest.digest}`);
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.deepEqual(body, manifest.bytes);
    });
  });
});
