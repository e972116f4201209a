/**
 * Content management workflow of the OCI Distribution Spec 1.1: deleting tags and manifests (end-9) and
 * blobs (end-10). Wharf implements every deletion, so each success is a 202.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertOciError,
  createBlob,
  createEmptyConfig,
  createImage,
  createRandomBlob,
  descriptorOf,
  type ImageIndexBody,
  OciClient,
  type TagListBody,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

describe('content management workflow', () => {
  let server: WharfServer;
  let client: OciClient;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
  });

  async function statusOf(path: string, method = 'GET'): Promise<number> {
    const response = await client.fetch(path, { method });

    await response.arrayBuffer();

    return response.status;
  }

  async function listTags(repository: string): Promise<string[]> {
    const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list`);

    return body.tags;
  }

  describe('DELETE tag', () => {
    const repository = 'conformance/management-tags';

    it('returns 202', async () => {
      const image = createImage();

      await client.pushImage(repository, 'doomed', image);

      const response = await client.fetch(`/v2/${repository}/manifests/doomed`, { method: 'DELETE' });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
    });

    it('GET of the deleted tag returns 404', async () => {
      const image = createImage();

      await client.pushImage(repository, 'gone', image);
      assert.equal(await statusOf(`/v2/${repository}/manifests/gone`, 'DELETE'), 202);

      const response = await client.fetch(`/v2/${repository}/manifests/gone`);

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('keeps the manifest', async () => {
      const image = createImage();

      await client.pushImage(repository, 'untag-only', image);
      assert.equal(await statusOf(`/v2/${repository}/manifests/untag-only`, 'DELETE'), 202);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`), 200);
    });

    it('keeps other tags of the manifest', async () => {
      const image = createImage();

      await client.pushImage(repository, 'keep-a', image);
      await client.pushManifest(repository, 'keep-b', image.manifest);
      assert.equal(await statusOf(`/v2/${repository}/manifests/keep-a`, 'DELETE'), 202);
      assert.equal(await statusOf(`/v2/${repository}/manifests/keep-b`), 200);
    });

    it('removes the tag from the tag list', async () => {
      const image = createImage();

      await client.pushImage(repository, 'listed', image);
      await client.pushManifest(repository, 'listed-too', image.manifest);
      assert.equal(await statusOf(`/v2/${repository}/manifests/listed`, 'DELETE'), 202);

      const tags = await listTags(repository);

      assert.ok(!tags.includes('listed'), `deleted tag still listed: ${tags.join(', ')}`);
      assert.ok(tags.includes('listed-too'), `remaining tag not listed: ${tags.join(', ')}`);
    });

    it('unknown tag returns 404', async () => {
      await client.pushImage(repository, 'present', createImage());

      const response = await client.fetch(`/v2/${repository}/manifests/never-pushed`, { method: 'DELETE' });

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });
  });

  describe('DELETE manifest', () => {
    const repository = 'conformance/management-manifests';

    it('returns 202', async () => {
      const image = createImage();

      await client.pushImage(repository, 'delete-me', image);

      const response = await client.fetch(`/v2/${repository}/manifests/${image.manifest.digest}`, {
        method: 'DELETE',
      });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
    });

    it('GET by digest returns 404 afterwards', async () => {
      const image = createImage();

      await client.pushImage(repository, 'by-digest', image);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`, 'DELETE'), 202);

      const response = await client.fetch(`/v2/${repository}/manifests/${image.manifest.digest}`);

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('HEAD by digest returns 404 afterwards', async () => {
      const image = createImage();

      await client.pushImage(repository, 'head-after', image);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`, 'DELETE'), 202);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`, 'HEAD'), 404);
    });

    it('removes every tag of the manifest', async () => {
      const image = createImage();

      await client.pushImage(repository, 'tag-one', image);
      await client.pushManifest(repository, 'tag-two', image.manifest);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`, 'DELETE'), 202);

      for (const tag of ['tag-one', 'tag-two']) {
        const response = await client.fetch(`/v2/${repository}/manifests/${tag}`);

        await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
      }
    });

    it('removes its tags from the tag list', async () => {
      const deletedImage = createImage();
      const keptImage = createImage();

      await client.pushImage(repository, 'listed-deleted', deletedImage);
      await client.pushImage(repository, 'listed-kept', keptImage);
      assert.equal(
        await statusOf(`/v2/${repository}/manifests/${deletedImage.manifest.digest}`, 'DELETE'),
        202,
      );

      const tags = await listTags(repository);

      assert.ok(!tags.includes('listed-deleted'), `tag of a deleted manifest listed: ${tags.join(', ')}`);
      assert.ok(tags.includes('listed-kept'), `tag of a kept manifest not listed: ${tags.join(', ')}`);
    });

    it('keeps other manifests', async () => {
      const deletedImage = createImage();
      const keptImage = createImage();

      await client.pushImage(repository, 'neighbour-deleted', deletedImage);
      await client.pushImage(repository, 'neighbour-kept', keptImage);
      assert.equal(
        await statusOf(`/v2/${repository}/manifests/${deletedImage.manifest.digest}`, 'DELETE'),
        202,
      );
      assert.equal(await statusOf(`/v2/${repository}/manifests/${keptImage.manifest.digest}`), 200);
      assert.equal(await statusOf(`/v2/${repository}/manifests/neighbour-kept`), 200);
    });

    it('can be pushed again', async () => {
      const image = createImage();

      await client.pushImage(repository, 'again', image);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${image.manifest.digest}`, 'DELETE'), 202);
      await client.pushManifest(repository, 'again', image.manifest);
      assert.equal(await statusOf(`/v2/${repository}/manifests/again`), 200);
    });

    it('unknown digest returns 404', async () => {
      const digest = createBlob('no manifest was pushed with these bytes').digest;
      const response = await client.fetch(`/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });

      await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('unknown repository returns 404', async () => {
      const digest = createBlob('no repository either').digest;
      const response = await client.fetch(`/v2/conformance/no-such-repository/manifests/${digest}`, {
        method: 'DELETE',
      });

      await assertOciError(response, 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
    });

    it('removes a referrer from the referrers list', async () => {
      const subject = createImage();
      const referrer = createImage({
        config: createEmptyConfig(),
        layers: [createBlob('signature to delete', 'application/vnd.example.signature.v1')],
        artifactType: 'application/vnd.example.signature.v1',
        subject: descriptorOf(subject.manifest),
      });

      await client.pushImage(repository, 'with-referrer', subject);
      await client.pushImage(repository, referrer.manifest.digest, referrer);
      assert.equal(await statusOf(`/v2/${repository}/manifests/${referrer.manifest.digest}`, 'DELETE'), 202);

      const { body } = await client.getJson<ImageIndexBody>(
        `/v2/${repository}/referrers/${subject.manifest.digest}`,
      );

      assert.deepEqual(body.manifests, []);
    });
  });

  describe('DELETE blob', () => {
    const repository = 'conformance/management-blobs';

    it('returns 202', async () => {
      const blob = createRandomBlob(128);

      await client.pushBlob(repository, blob);

      const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`, { method: 'DELETE' });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
    });

    it('GET returns 404 afterwards', async () => {
      const blob = createRandomBlob(128);

      await client.pushBlob(repository, blob);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`, 'DELETE'), 202);

      const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);

      await assertOciError(response, 404, 'BLOB_UNKNOWN');
    });

    it('HEAD returns 404 afterwards', async () => {
      const blob = createRandomBlob(128);

      await client.pushBlob(repository, blob);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`, 'DELETE'), 202);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`, 'HEAD'), 404);
    });

    it('keeps the blob in other repositories', async () => {
      const blob = createRandomBlob(128);

      await client.pushBlob(repository, blob);
      await client.pushBlob('conformance/management-blobs-other', blob);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`, 'DELETE'), 202);

      const response = await client.fetch(`/v2/conformance/management-blobs-other/blobs/${blob.digest}`);
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.deepEqual(body, blob.bytes);
    });

    it('unknown blob returns 404', async () => {
      await client.pushBlob(repository, createRandomBlob(16));

      const digest = createBlob('a blob that was never pushed').digest;
      const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, { method: 'DELETE' });

      await assertOciError(response, 404, 'BLOB_UNKNOWN');
    });

    it('deletedImage blob can be pushed again', async () => {
      const blob = createRandomBlob(128);

      await client.pushBlob(repository, blob);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`, 'DELETE'), 202);
      await client.pushBlob(repository, blob);
      assert.equal(await statusOf(`/v2/${repository}/blobs/${blob.digest}`), 200);
    });
  });
});
