/**
 * Content discovery workflow of the OCI Distribution Spec 1.1: tag listing with `n`, `last` and `Link`
 * (end-8a, end-8b) and the referrers API with `artifactType` filtering (end-12a, end-12b). The catalog
 * (`/v2/_catalog`) is not part of the spec, but Wharf pages it the same way as tags.
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
  descriptorOf,
  type Image,
  type ImageIndexBody,
  mediaTypes,
  nextLink,
  OciClient,
  type TagListBody,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Tags in push order. They are all lower case, so case-insensitive order and byte order agree. */
const pushedTags = ['v2', 'latest', '1.0', 'v10', 'beta', 'alpha', 'rc-1', 'rc_2'];
const sortedTags = [...pushedTags].sort();
const maxPages = 50;

const sbomType = 'application/vnd.example.sbom.v1';
const signatureConfigType = 'application/vnd.example.signature.config.v1+json';
const bundleType = 'application/vnd.example.bundle.v1';

describe('content discovery workflow', () => {
  let server: WharfServer;
  let client: OciClient;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
  });

  describe('tags list', () => {
    const repository = 'conformance/discovery-tags';

    before(async () => {
      const image = createImage();

      await client.pushImage(repository, pushedTags[0], image);

      for (const tag of pushedTags.slice(1)) {
        await client.pushManifest(repository, tag, image.manifest);
      }
    });

    it('returns 200 with name and tags', async () => {
      const { response, body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list`);

      assert.equal(response.status, 200);
      assert.equal(body.name, repository);
      assert.ok(Array.isArray(body.tags), 'tags is not an array');
    });

    it('lists every tag in lexical order', async () => {
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list`);

      assert.deepEqual(body.tags, sortedTags);
    });

    it('n limits the count', async () => {
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=3`);

      assert.deepEqual(body.tags, sortedTags.slice(0, 3));
    });

    it('n above the count returns every tag', async () => {
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=1000`);

      assert.deepEqual(body.tags, sortedTags);
    });

    it('n=0 returns an empty list without Link', async () => {
      const { response, body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=0`);

      assert.deepEqual(body.tags, []);
      assert.equal(response.headers.get('link'), null);
    });

    it('n and last return the tags after last', async () => {
      const last = sortedTags[2];
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=2&last=${last}`);

      assert.deepEqual(body.tags, sortedTags.slice(3, 5));
    });

    it('last without n returns every later tag', async () => {
      const last = sortedTags[4];
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?last=${last}`);

      assert.deepEqual(body.tags, sortedTags.slice(5));
    });

    it('last after every tag returns an empty list', async () => {
      const last = sortedTags[sortedTags.length - 1];
      const { body } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=5&last=${last}`);

      assert.deepEqual(body.tags, []);
    });

    it('sets Link rel="next" when more tags remain', async () => {
      const { response } = await client.getJson<TagListBody>(`/v2/${repository}/tags/list?n=3`);

      assert.ok(nextLink(response), 'Link rel="next" is missing');
    });

    it('following Link returns every tag once', async () => {
      const collected: string[] = [];
      let next: string | undefined = `/v2/${repository}/tags/list?n=3`;
      let pages = 0;

      while (next !== undefined && pages < maxPages) {
        const { response, body } = await client.getJson<TagListBody>(next);

        assert.ok(body.tags.length <= 3, `page ${pages} has more than n tags`);
        collected.push(...body.tags);
        next = nextLink(response);
        pages += 1;
      }

      assert.equal(next, undefined, `pagination did not end within ${maxPages} pages`);
      assert.deepEqual(collected, sortedTags);
    });

    it('last page has no Link', async () => {
      const last = sortedTags[sortedTags.length - 3];
      const { response, body } = await client.getJson<TagListBody>(
        `/v2/${repository}/tags/list?n=5&last=${last}`,
      );

      assert.deepEqual(body.tags, sortedTags.slice(-2));
      assert.equal(response.headers.get('link'), null);
    });

    it('repository without tags returns an empty list', async () => {
      const image = createImage();

      await client.pushImage('conformance/discovery-untagged', image.manifest.digest, image);

      const { body } = await client.getJson<TagListBody>('/v2/conformance/discovery-untagged/tags/list');

      assert.deepEqual(body.tags, []);
    });

    it('unknown repository returns 404', async () => {
      const response = await client.fetch('/v2/conformance/no-such-repository/tags/list');

      await assertOciError(response, 404, 'NAME_UNKNOWN');
    });

    for (const n of ['-1', 'abc', '1.5']) {
      it(`n="${n}" returns 400`, async () => {
        const response = await client.fetch(`/v2/${repository}/tags/list?n=${n}`);

        await assertOciError(response, 400, 'UNSUPPORTED');
      });
    }
  });

  describe('catalog', () => {
    const repositories = ['catalog/zeta', 'catalog/alpha', 'catalog/mid-1', 'catalog/mid_2', 'catalog/beta'];

    before(async () => {
      for (const repository of repositories) {
        await client.pushBlob(repository, createBlob(`blob of ${repository}`));
      }
    });

    it('lists repositories in lexical order', async () => {
      const { body } = await client.getJson<{ repositories: string[] }>('/v2/_catalog');
      const listed = body.repositories.filter((name) => name.startsWith('catalog/'));

      assert.deepEqual(listed, [...repositories].sort());
      assert.deepEqual(body.repositories, [...body.repositories].sort());
    });

    it('following Link returns every repository once', async () => {
      const { body: full } = await client.getJson<{ repositories: string[] }>('/v2/_catalog');
      const collected: string[] = [];
      let next: string | undefined = '/v2/_catalog?n=2';
      let pages = 0;

      while (next !== undefined && pages < maxPages) {
        const { response, body } = await client.getJson<{ repositories: string[] }>(next);

        assert.ok(body.repositories.length <= 2, `page ${pages} has more than n repositories`);
        collected.push(...body.repositories);
        next = nextLink(response);
        pages += 1;
      }

      assert.equal(next, undefined, `pagination did not end within ${maxPages} pages`);
      assert.deepEqual(collected, full.repositories);
    });

    it('n and last return the repositories after last', async () => {
      const { body } = await client.getJson<{ repositories: string[] }>(
        '/v2/_catalog?n=2&last=catalog/alpha',
      );

      assert.deepEqual(body.repositories, ['catalog/beta', 'catalog/mid-1']);
    });

    it('n=0 returns an empty list without Link', async () => {
      const { response, body } = await client.getJson<{ repositories: string[] }>('/v2/_catalog?n=0');

      assert.deepEqual(body.repositories, []);
      assert.equal(response.headers.get('link'), null);
    });

    it('bad n returns 400', async () => {
      const response = await client.fetch('/v2/_catalog?n=-5');

      await assertOciError(response, 400, 'UNSUPPORTED');
    });
  });

  describe('referrers', () => {
    const repository = 'conformance/discovery-referrers';
    let subject: Image;
    let sbom: Image;
    let signature: Image;
    let indexWithoutType: Content;
    let indexWithType: Content;

    before(async () => {
      subject = createImage();
      await client.pushImage(repository, 'subject', subject);

      const emptyConfig = createEmptyConfig();

      sbom = createImage({
        config: emptyConfig,
        layers: [createBlob('{"sbom":true}', 'application/vnd.example.sbom.layer.v1+json')],
        artifactType: sbomType,
        subject: descriptorOf(subject.manifest),
        annotations: {
          'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
          'org.example.format': 'json',
        },
      });
      await client.pushImage(repository, sbom.manifest.digest, sbom);

      signature = createImage({
        config: createBlob('{"signature":true}', signatureConfigType),
        layers: [createBlob('signature bytes', 'application/vnd.example.signature.layer.v1')],
        subject: descriptorOf(subject.manifest),
        annotations: { 'org.example.signer': 'tests' },
      });
      await client.pushImage(repository, signature.manifest.digest, signature);

      const child = createImage();

      await client.pushImage(repository, child.manifest.digest, child);
      indexWithoutType = createIndex([child.manifest], {
        subject: descriptorOf(subject.manifest),
        annotations: { 'org.example.kind': 'index-without-type' },
      });
      await client.pushManifest(repository, indexWithoutType.digest, indexWithoutType);
      indexWithType = createIndex([child.manifest], {
        subject: descriptorOf(subject.manifest),
        artifactType: bundleType,
      });
      await client.pushManifest(repository, indexWithType.digest, indexWithType);
    });

    async function listReferrers(
      digest: string,
      query = '',
    ): Promise<{ response: Response; body: ImageIndexBody }> {
      return client.getJson<ImageIndexBody>(`/v2/${repository}/referrers/${digest}${query}`);
    }

    function findDescriptor(body: ImageIndexBody, digest: string): ImageIndexBody['manifests'][number] {
      const descriptor = body.manifests.find((entry) => entry.digest === digest);

      assert.ok(descriptor, `referrers list has no descriptor for ${digest}`);

      return descriptor;
    }

    it('returns an image index', async () => {
      const { response, body } = await listReferrers(subject.manifest.digest);

      assert.equal(response.headers.get('content-type'), mediaTypes.imageIndex);
      assert.equal(body.schemaVersion, 2);
      assert.equal(body.mediaType, mediaTypes.imageIndex);
    });

    it('lists every referrer', async () => {
      const { body } = await listReferrers(subject.manifest.digest);
      const digests = body.manifests.map((entry) => entry.digest).sort();
      const expected = [
        sbom.manifest.digest,
        signature.manifest.digest,
        indexWithoutType.digest,
        indexWithType.digest,
      ];

      assert.deepEqual(digests, expected.sort());
    });

    it('descriptor has mediaType, size and digest', async () => {
      const { body } = await listReferrers(subject.manifest.digest);
      const descriptor = findDescriptor(body, sbom.manifest.digest);

      assert.equal(descriptor.mediaType, mediaTypes.imageManifest);
      assert.equal(descriptor.size, sbom.manifest.size);
    });

    it('descriptor carries the manifest artifactType', async () => {
      const { body } = await listReferrers(subject.manifest.digest);

      assert.equal(findDescriptor(body, sbom.manifest.digest).artifactType, sbomType);
    });

    it('artifactType falls back to config mediaType', async () => {
      const { body } = await listReferrers(subject.manifest.digest);

      assert.equal(findDescriptor(body, signature.manifest.digest).artifactType, signatureConfigType);
    });

    it('index without artifactType omits it', async () => {
      const { body } = await listReferrers(subject.manifest.digest);
      const descriptor = findDescriptor(body, indexWithoutType.digest);

      assert.equal(descriptor.mediaType, mediaTypes.imageIndex);
      assert.equal(descriptor.artifactType, undefined);
    });

    it('index with artifactType carries it', async () => {
      const { body } = await listReferrers(subject.manifest.digest);

      assert.equal(findDescriptor(body, indexWithType.digest).artifactType, bundleType);
    });

    it('descriptor carries the manifest annotations', async () => {
      const { body } = await listReferrers(subject.manifest.digest);

      assert.deepEqual(findDescriptor(body, sbom.manifest.digest).annotations, {
        'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
        'org.example.format': 'json',
      });
      assert.deepEqual(findDescriptor(body, indexWithoutType.digest).annotations, {
        'org.example.kind': 'index-without-type',
      });
    });

    it('unfiltered response has no OCI-Filters-Applied', async () => {
      const { response } = await listReferrers(subject.manifest.digest);

      assert.equal(response.headers.get('oci-filters-applied'), null);
    });

    it('artifactType filter returns matching referrers', async () => {
      const { body } = await listReferrers(
        subject.manifest.digest,
        `?artifactType=${encodeURIComponent(sbomType)}`,
      );

      assert.deepEqual(
        body.manifests.map((entry) => entry.digest),
        [sbom.manifest.digest],
      );
    });

    it('artifactType filter sets OCI-Filters-Applied', async () => {
      const { response } = await listReferrers(
        subject.manifest.digest,
        `?artifactType=${encodeURIComponent(sbomType)}`,
      );

      assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    });

    it('filter matches the config mediaType fallback', async () => {
      const { body } = await listReferrers(
        subject.manifest.digest,
        `?artifactType=${encodeURIComponent(signatureConfigType)}`,
      );

      assert.deepEqual(
        body.manifests.map((entry) => entry.digest),
        [signature.manifest.digest],
      );
    });

    it('filter without matches returns an empty list', async () => {
      const { response, body } = await listReferrers(
        subject.manifest.digest,
        `?artifactType=${encodeURIComponent('application/vnd.example.none')}`,
      );

      assert.deepEqual(body.manifests, []);
      assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    });

    it('digest without referrers returns an empty index', async () => {
      const { response, body } = await listReferrers(sbom.manifest.digest);

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.imageIndex);
      assert.equal(body.schemaVersion, 2);
      assert.deepEqual(body.manifests, []);
    });

    it('unknown digest returns an empty index', async () => {
      const { response, body } = await listReferrers(createBlob('no manifest has these bytes').digest);

      assert.equal(response.status, 200);
      assert.deepEqual(body.manifests, []);
    });

    it('referrer pushed before its subject is listed', async () => {
      const laterSubject = createImage();
      const early = createImage({
        config: createEmptyConfig(),
        layers: [createBlob('early attestation', 'application/vnd.example.attestation.v1')],
        artifactType: 'application/vnd.example.attestation.v1',
        subject: descriptorOf(laterSubject.manifest),
      });

      await client.pushImage(repository, early.manifest.digest, early);

      const listedEarly = await listReferrers(laterSubject.manifest.digest);

      assert.deepEqual(
        listedEarly.body.manifests.map((entry) => entry.digest),
        [early.manifest.digest],
      );

      await client.pushImage(repository, 'later-subject', laterSubject);

      const listedLater = await listReferrers(laterSubject.manifest.digest);

      assert.deepEqual(
        listedLater.body.manifests.map((entry) => entry.digest),
        [early.manifest.digest],
      );
    });

    it('referrers in other repositories are not listed', async () => {
      const otherRepository = 'conformance/discovery-referrers-other';
      const foreign = createImage({
        config: createEmptyConfig(),
        layers: [createBlob('foreign sbom', 'application/vnd.example.sbom.layer.v1+json')],
        artifactType: sbomType,
        subject: descriptorOf(subject.manifest),
      });

      await client.pushImage(otherRepository, foreign.manifest.digest, foreign);

      const { body } = await listReferrers(subject.manifest.digest);

      assert.ok(
        !body.manifests.some((entry) => entry.digest === foreign.manifest.digest),
        'a referrer from another repository is listed',
      );
    });

    it('invalid digest returns 400', async () => {
      const response = await client.fetch(`/v2/${repository}/referrers/sha256:not-hex`);

      await assertOciError(response, 400, 'DIGEST_INVALID');
    });
  });
});
