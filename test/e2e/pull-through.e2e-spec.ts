import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { assertOciErrorBody, computeDigest, mediaTypes, OciClient } from '../support/oci-client.js';
import {
  assertLayoutBlobsEqual,
  createMultiPlatformLayout,
  createSinglePlatformLayout,
  linuxAmd64,
  linuxArm64,
  listBlobDigests,
  ociMediaTypes,
  type Platform,
  readBlob,
  resolveTag,
  sha256Digest,
  type WrittenImage,
  type WrittenIndex,
} from '../support/oci-layout.js';
import { Skopeo } from '../support/skopeo.js';
import { openReadOnly } from '../support/temp-database.js';
import {
  countRequests,
  formatRequests,
  startUpstreamRegistry,
  type UpstreamRegistry,
  type UpstreamRequest,
} from '../support/upstream-registry.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Tag TTL of the `docker` prefix, kept short so that the tests can wait past it. */
const tagTtlMs = 2_000;
/** Wait that ends safely past `tagTtlMs`. */
const pastTagTtlMs = 2_500;
/**
 * Bound for one request while the upstream is down. Wharf must respond within its upstream timeout
 * (30 s by default), so the margin only separates a late response from a hang.
 */
const upstreamDownRequestTimeoutMs = 45_000;
/** Bound for following `Link` headers of the tags list, far above the pages that two tags need. */
const maxTagPages = 10;

const manifestAccept = [
  mediaTypes.imageManifest,
  mediaTypes.imageIndex,
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
].join(', ');

const linuxS390x: Platform = { os: 'linux', architecture: 's390x' };
const linuxPpc64le: Platform = { os: 'linux', architecture: 'ppc64le' };
const linuxArmV7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' };
const linux386: Platform = { os: 'linux', architecture: '386' };
const linuxMips64le: Platform = { os: 'linux', architecture: 'mips64le' };

/** A manifest as the upstream returns it to a direct GET. */
interface UpstreamManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

interface TagList {
  name: string;
  tags: string[];
}

/** One row of the `upstream_statistics` table. */
interface StatisticsRow {
  upstream: string;
  repository: string;
  hits: number;
  misses: number;
  bytes_fetched: number;
  bytes_served: number;
  not_found: number;
  errors: number;
  last_error_kind: string | null;
}

/** Returns the requests of the manifest kind whose reference is a tag, not a digest. */
function manifestRequestsByTag(requests: readonly UpstreamRequest[]): UpstreamRequest[] {
  return requests.filter(
    (request) => request.kind === 'manifest' && !(request.reference ?? '').startsWith('sha256:'),
  );
}

/** Returns the URL between angle brackets in the response's `Link` header, if it has one. */
function linkTarget(response: Response): string | undefined {
  return /<([^>]+)>/.exec(response.headers.get('link') ?? '')?.[1];
}

describe('pull-through cache against a distribution registry', () => {
  let upstream: UpstreamRegistry;
  let wharf: WharfServer;
  let wharfClient: OciClient;
  let workDirectory: string;
  let skopeo: Skopeo;

  let appLayout: string;
  let appImage: WrittenImage;
  let appV2Layout: string;
  let multiLayout: string;
  let multiIndex: WrittenIndex;
  let toolLayout: string;
  let movedLayout: string;
  let movedImage: WrittenImage;

  const upstreamManifests = new Map<string, UpstreamManifest>();
  let upstreamAppTags: string[];

  const outputDirectory = (name: string): string => join(workDirectory, 'out', name);
  const wharfReference = (repositoryAndReference: string): string =>
    `docker://${wharf.hostPort}/${repositoryAndReference}`;

  /** Pulls through Wharf with skopeo into a new OCI layout under `tag`, and returns the layout's path. */
  const pullToLayout = async (
    repositoryAndReference: string,
    name: string,
    tag: string,
    options: readonly string[] = [],
  ): Promise<string> => {
    const layout = outputDirectory(name);

    await skopeo.pull(wharfReference(repositoryAndReference), `oci:${layout}:${tag}`, options);

    return layout;
  };

  /** Fetches a manifest directly from the upstream and checks that its digest header matches its bytes. */
  const fetchUpstreamManifest = async (repository: string, reference: string): Promise<UpstreamManifest> => {
    const response = await fetch(`${upstream.url}/v2/${repository}/manifests/${reference}`, {
      headers: { accept: manifestAccept },
      signal: AbortSignal.timeout(10_000),
    });
    const bytes = Buffer.from(await response.arrayBuffer());

    assert.equal(response.status, 200, `upstream GET ${repository}:${reference} returned ${response.status}`);

    const digest = response.headers.get('docker-content-digest') ?? '';

    assert.equal(computeDigest(bytes), digest, `upstream digest header of ${repository}:${reference}`);

    return { digest, mediaType: response.headers.get('content-type') ?? '', bytes };
  };

  /** Returns the upstream manifest recorded before the tests ran, under `repository:reference`. */
  const upstreamManifest = (repositoryAndReference: string): UpstreamManifest => {
    const manifest = upstreamManifests.get(repositoryAndReference);

    assert.ok(manifest, `no upstream manifest was recorded for ${repositoryAndReference}`);

    return manifest;
  };

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-pull-through-'));
    await mkdir(join(workDirectory, 'out'));
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));

    appLayout = join(workDirectory, 'app');
    appImage = await createSinglePlatformLayout(appLayout, '1.0', linuxAmd64);
    appV2Layout = join(workDirectory, 'app-v2');
    await createSinglePlatformLayout(appV2Layout, '2.0', linuxS390x);
    multiLayout = join(workDirectory, 'multi');
    multiIndex = await createMultiPlatformLayout(multiLayout, '1.0', [linuxArm64, linuxPpc64le]);
    toolLayout = join(workDirectory, 'tool');
    await createSinglePlatformLayout(toolLayout, '1.0', linuxArmV7);
    movedLayout = join(workDirectory, 'moved');
    movedImage = await createSinglePlatformLayout(movedLayout, '1.0', linux386);

    upstream = await startUpstreamRegistry();

    await skopeo.push(`oci:${appLayout}:1.0`, upstream.dockerReference('library/app:1.0'));
    await skopeo.push(`oci:${appV2Layout}:2.0`, upstream.dockerReference('library/app:2.0'));
    await skopeo.push(`oci:${multiLayout}:1.0`, upstream.dockerReference('library/multi:1.0'), ['--all']);
    await skopeo.push(`oci:${appLayout}:1.0`, upstream.dockerReference('library/legacy:1.0'), [
      '--format',
      'v2s2',
    ]);
    await skopeo.push(`oci:${toolLayout}:1.0`, upstream.dockerReference('team/tool:1.0'));
    await skopeo.push(`oci:${appLayout}:1.0`, upstream.dockerReference('library/ttl:1.0'));
    await skopeo.push(`oci:${appLayout}:1.0`, upstream.dockerReference('library/moving:1.0'));

    for (const [repository, reference] of [
      ['library/app', '1.0'],
      ['library/app', '2.0'],
      ['library/multi', '1.0'],
      ['library/legacy', '1.0'],
      ['team/tool', '1.0'],
      ['library/ttl', '1.0'],
      ['library/moving', '1.0'],
    ] as const) {
      upstreamManifests.set(`${repository}:${reference}`, await fetchUpstreamManifest(repository, reference));
    }

    const tagsResponse = await fetch(`${upstream.url}/v2/library/app/tags/list`);
    const tagList = (await tagsResponse.json()) as TagList;

    upstreamAppTags = [...tagList.tags].sort();

    wharf = await startWharf({
      config: {
        upstreams: [
          { prefix: 'docker', url: upstream.url, dockerHub: true, tagTtl: `${tagTtlMs}ms` },
          { prefix: 'mirror', url: upstream.url },
        ],
      },
    });
    wharfClient = new OciClient(wharf.baseUrl);
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  it('seeded upstream matches layouts', () => {
    assert.equal(upstreamManifest('library/app:1.0').digest, appImage.manifest.digest);
    assert.equal(upstreamManifest('library/multi:1.0').digest, multiIndex.index.digest);
    assert.equal(upstreamManifest('library/legacy:1.0').mediaType, mediaTypes.dockerManifest);
    assert.deepEqual(upstreamAppTags, ['1.0', '2.0']);
  });

  describe('single-platform image', () => {
    let shortNameLayout: string;
    let libraryNameLayout: string;
    let coldRequests: UpstreamRequest[];
    let secondRequests: UpstreamRequest[];

    before(async () => {
      await upstream.resetRequests();
      shortNameLayout = await pullToLayout('docker/app:1.0', 'app-short', '1.0');
      coldRequests = await upstream.requests();

      await upstream.resetRequests();
      libraryNameLayout = await pullToLayout('docker/library/app:1.0', 'app-library', '1.0');
      secondRequests = await upstream.requests();
    });

    it('short name keeps digest', async () => {
      const pulled = await resolveTag(shortNameLayout, '1.0');

      assert.equal(pulled.digest, upstreamManifest('library/app:1.0').digest);
    });

    it('short name blobs match', async () => {
      assert.deepEqual(await listBlobDigests(shortNameLayout), await listBlobDigests(appLayout));
      await assertLayoutBlobsEqual(appLayout, shortNameLayout);
    });

    it('cold pull fetches from upstream', () => {
      const log = formatRequests(coldRequests);

      assert.ok(countRequests(coldRequests, { method: 'GET', kind: 'manifest' }) >= 1, log);
      assert.equal(
        countRequests(coldRequests, { method: 'GET', kind: 'blob' }),
        appImage.layers.length + 1,
        log,
      );
    });

    it('short name gets library prefix', () => {
      const log = formatRequests(coldRequests);
      const contentRequests = coldRequests.filter(
        (request) => request.kind === 'manifest' || request.kind === 'blob',
      );

      assert.ok(contentRequests.length > 0, log);

      for (const request of contentRequests) {
        assert.equal(request.repository, 'library/app', log);
      }
    });

    it('library name keeps digest', async () => {
      const pulled = await resolveTag(libraryNameLayout, '1.0');

      assert.equal(pulled.digest, upstreamManifest('library/app:1.0').digest);
    });

    it('library name blobs match', async () => {
      assert.deepEqual(await listBlobDigests(libraryNameLayout), await listBlobDigests(appLayout));
      await assertLayoutBlobsEqual(appLayout, libraryNameLayout);
    });

    it('both names share cache entry', () => {
      const log = formatRequests(secondRequests);

      assert.equal(countRequests(secondRequests, { method: 'GET', kind: 'manifest' }), 0, log);
      assert.equal(countRequests(secondRequests, { method: 'GET', kind: 'blob' }), 0, log);
    });
  });

  describe('image index', () => {
    const childLayouts = new Map<string, string>();
    let childRequests: UpstreamRequest[];
    let indexLayout: string;
    let indexRequests: UpstreamRequest[];

    before(async () => {
      await upstream.resetRequests();

      for (const image of multiIndex.images) {
        const digest = image.manifest.digest;
        const name = `multi-child-${image.manifest.platform?.architecture ?? digest}`;

        childLayouts.set(digest, await pullToLayout(`docker/multi@${digest}`, name, 'child'));
      }

      childRequests = await upstream.requests();

      await upstream.resetRequests();
      indexLayout = await pullToLayout('docker/multi:1.0', 'multi-index', '1.0', ['--all']);
      indexRequests = await upstream.requests();
    });

    it('children keep digests', async () => {
      for (const image of multiIndex.images) {
        const layout = childLayouts.get(image.manifest.digest);

        assert.ok(layout, `child ${image.manifest.digest} was not pulled`);
        assert.equal((await resolveTag(layout, 'child')).digest, image.manifest.digest);
      }
    });

    it('children fetched by digest', () => {
      const log = formatRequests(childRequests);

      for (const image of multiIndex.images) {
        assert.equal(
          countRequests(childRequests, {
            method: 'GET',
            kind: 'manifest',
            repository: 'library/multi',
            reference: image.manifest.digest,
          }),
          1,
          log,
        );
      }
    });

    it('children never fetched by tag', () => {
      assert.deepEqual(manifestRequestsByTag(childRequests), [], formatRequests(childRequests));
    });

    it('index keeps digest', async () => {
      const pulled = await resolveTag(indexLayout, '1.0');

      assert.equal(pulled.digest, upstreamManifest('library/multi:1.0').digest);
      assert.equal(pulled.mediaType, ociMediaTypes.imageIndex);
    });

    it('index blobs match', async () => {
      assert.deepEqual(await listBlobDigests(indexLayout), await listBlobDigests(multiLayout));
      await assertLayoutBlobsEqual(multiLayout, indexLayout);
    });

    it('index pull reuses cached children', () => {
      const log = formatRequests(indexRequests);

      for (const image of multiIndex.images) {
        assert.equal(
          countRequests(indexRequests, { kind: 'manifest', reference: image.manifest.digest }),
          0,
          log,
        );
      }

      assert.equal(countRequests(indexRequests, { method: 'GET', kind: 'blob' }), 0, log);
    });
  });

  describe('docker schema 2 image', () => {
    let pulledDirectory: string;
    let pulledManifest: Buffer;

    before(async () => {
      pulledDirectory = outputDirectory('legacy');
      await skopeo.pull(wharfReference('docker/legacy:1.0'), `dir:${pulledDirectory}`);
      pulledManifest = await readFile(join(pulledDirectory, 'manifest.json'));
    });

    it('keeps digest', () => {
      assert.equal(computeDigest(pulledManifest), upstreamManifest('library/legacy:1.0').digest);
    });

    it('keeps media type', () => {
      const manifest = JSON.parse(pulledManifest.toString('utf8')) as { mediaType?: string };

      assert.equal(manifest.mediaType, mediaTypes.dockerManifest);
    });

    it('get returns schema 2 headers', async () => {
      const response = await wharfClient.fetch('/v2/docker/legacy/manifests/1.0', {
        headers: { accept: manifestAccept },
      });
      const bytes = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mediaTypes.dockerManifest);
      assert.equal(
        response.headers.get('docker-content-digest'),
        upstreamManifest('library/legacy:1.0').digest,
      );
      assert.ok(
        bytes.equals(upstreamManifest('library/legacy:1.0').bytes),
        'manifest bytes differ from upstream',
      );
    });

    it('pulled blobs match', async () => {
      for (const descriptor of [appImage.config, ...appImage.layers]) {
        const pulled = await readFile(join(pulledDirectory, descriptor.digest.slice('sha256:'.length)));
        const source = await readBlob(appLayout, descriptor.digest);

        assert.ok(pulled.equals(source), `blob ${descriptor.digest} differs from the source bytes`);
      }
    });
  });

  describe('prefix without docker hub names', () => {
    it('passes name unchanged', async () => {
      await upstream.resetRequests();

      const layout = await pullToLayout('mirror/team/tool:1.0', 'mirror-tool', '1.0');
      const requests = await upstream.requests();
      const log = formatRequests(requests);

      assert.equal((await resolveTag(layout, '1.0')).digest, upstreamManifest('team/tool:1.0').digest);
      assert.ok(countRequests(requests, { kind: 'manifest', repository: 'team/tool' }) >= 1, log);
      assert.equal(countRequests(requests, { kind: 'manifest', repository: 'library/team/tool' }), 0, log);
    });

    it('adds no library prefix', async () => {
      await upstream.resetRequests();

      const response = await wharfClient.fetch('/v2/mirror/app/manifests/1.0', {
        headers: { accept: manifestAccept },
      });
      const text = await response.text();
      const requests = await upstream.requests();
      const log = formatRequests(requests);

      assert.equal(response.status, 404, text);
      assert.ok(countRequests(requests, { kind: 'manifest', repository: 'app' }) >= 1, log);
      assert.equal(countRequests(requests, { kind: 'manifest', repository: 'library/app' }), 0, log);
    });
  });

  describe('blob cached for another repository', () => {
    it('is linked after one head', async () => {
      // The single-platform pull cached this layer as docker/library/app; mirror/library/app is
      // another cache entry for the same upstream repository.
      const layer = appImage.layers[0];

      await upstream.resetRequests();

      const response = await wharfClient.fetch(`/v2/mirror/library/app/blobs/${layer.digest}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      const requests = await upstream.requests();
      const log = formatRequests(requests);

      assert.equal(response.status, 200, log);
      assert.equal(sha256Digest(bytes), layer.digest);
      assert.equal(countRequests(requests, { method: 'HEAD', kind: 'blob' }), 1, log);
      assert.equal(countRequests(requests, { method: 'GET', kind: 'blob' }), 0, log);
    });
  });

  describe('tag revalidation', () => {
    let coldPullStartedAt: number;

    before(async () => {
      coldPullStartedAt = Date.now();
      await pullToLayout('docker/ttl:1.0', 'ttl-cold', '1.0');
    });

    it('fresh tag makes no request', async () => {
      await upstream.resetRequests();

      const layout = await pullToLayout('docker/ttl:1.0', 'ttl-fresh', '1.0');
      const elapsedMs = Date.now() - coldPullStartedAt;
      const requests = await upstream.requests();

      assert.ok(elapsedMs < tagTtlMs, `both pulls took ${elapsedMs} ms, longer than the tag TTL`);
      assert.equal((await resolveTag(layout, '1.0')).digest, upstreamManifest('library/ttl:1.0').digest);
      assert.deepEqual(requests, [], formatRequests(requests));
    });

    it('stale tag makes one head', async () => {
      await sleep(pastTagTtlMs);
      await upstream.resetRequests();

      const layout = await pullToLayout('docker/ttl:1.0', 'ttl-stale', '1.0');
      const requests = await upstream.requests();
      const log = formatRequests(requests);

      assert.equal((await resolveTag(layout, '1.0')).digest, upstreamManifest('library/ttl:1.0').digest);
      assert.equal(countRequests(requests, { method: 'HEAD', kind: 'manifest' }), 1, log);
      assert.equal(countRequests(requests, { method: 'GET', kind: 'manifest' }), 0, log);
      assert.equal(countRequests(requests, { method: 'GET', kind: 'blob' }), 0, log);
    });
  });

  describe('tag moved upstream', () => {
    let movedPullLayout: string;
    let movedRequests: UpstreamRequest[];
    let movedDigest: string;

    before(async () => {
      await pullToLayout('docker/moving:1.0', 'moving-before', '1.0');
      await skopeo.push(`oci:${movedLayout}:1.0`, upstream.dockerReference('library/moving:1.0'));
      movedDigest = (await fetchUpstreamManifest('library/moving', '1.0')).digest;

      await sleep(pastTagTtlMs);
      await upstream.resetRequests();
      movedPullLayout = await pullToLayout('docker/moving:1.0', 'moving-after', '1.0');
      movedRequests = await upstream.requests();
    });

    it('upstream tag moved', () => {
      assert.equal(movedDigest, movedImage.manifest.digest);
      assert.notEqual(movedDigest, upstreamManifest('library/moving:1.0').digest);
    });

    it('serves new digest', async () => {
      assert.equal((await resolveTag(movedPullLayout, '1.0')).digest, movedDigest);
    });

    it('fetches new manifest', () => {
      assert.ok(
        countRequests(movedRequests, { method: 'GET', kind: 'manifest' }) >= 1,
        formatRequests(movedRequests),
      );
    });

    it('new blobs match', async () => {
      assert.deepEqual(await listBlobDigests(movedPullLayout), await listBlobDigests(movedLayout));
      await assertLayoutBlobsEqual(movedLayout, movedPullLayout);
    });
  });

  describe('head on cold tag', () => {
    let headResponse: Response;
    let headRequests: UpstreamRequest[];
    let getResponse: Response;
    let getBody: Buffer;

    before(async () => {
      await upstream.resetRequests();
      headResponse = await wharfClient.fetch('/v2/docker/app/manifests/2.0', {
        method: 'HEAD',
        headers: { accept: manifestAccept },
      });
      headRequests = await upstream.requests();

      getResponse = await wharfClient.fetch('/v2/docker/app/manifests/2.0', {
        headers: { accept: manifestAccept },
      });
      getBody = Buffer.from(await getResponse.arrayBuffer());
    });

    it('head returns 200', () => {
      assert.equal(headResponse.status, 200);
    });

    it('reaches upstream as head', () => {
      const log = formatRequests(headRequests);

      assert.equal(countRequests(headRequests, { method: 'HEAD', kind: 'manifest' }), 1, log);
      assert.equal(countRequests(headRequests, { method: 'GET', kind: 'manifest' }), 0, log);
    });

    it('head digest matches upstream', () => {
      assert.equal(
        headResponse.headers.get('docker-content-digest'),
        upstreamManifest('library/app:2.0').digest,
      );
    });

    it('get returns upstream bytes', () => {
      assert.equal(getResponse.status, 200);
      assert.ok(
        getBody.equals(upstreamManifest('library/app:2.0').bytes),
        'manifest bytes differ from upstream',
      );
    });

    it('head matches get headers', () => {
      for (const header of ['content-type', 'content-length', 'docker-content-digest']) {
        assert.ok(getResponse.headers.get(header) !== null, `GET has no ${header} header`);
        assert.equal(headResponse.headers.get(header), getResponse.headers.get(header), header);
      }
    });
  });

  describe('tags list', () => {
    it('lists upstream tags', async () => {
      const { body } = await wharfClient.getJson<TagList>('/v2/docker/app/tags/list');

      assert.deepEqual([...body.tags].sort(), upstreamAppTags);
    });

    it('library name lists same tags', async () => {
      const { body } = await wharfClient.getJson<TagList>('/v2/docker/library/app/tags/list');

      assert.deepEqual([...body.tags].sort(), upstreamAppTags);
    });

    it('link points at wharf', async () => {
      const { response, body } = await wharfClient.getJson<TagList>('/v2/docker/app/tags/list?n=1');
      const link = response.headers.get('link') ?? '';
      const target = linkTarget(response);

      assert.equal(body.tags.length, 1);
      assert.ok(target, `Link header "${link}" has no <URL>`);
      assert.ok(!link.includes(upstream.hostPort), `Link header "${link}" names the upstream`);

      const url = new URL(target, wharf.baseUrl);

      assert.equal(url.origin, new URL(wharf.baseUrl).origin);
      assert.ok(url.pathname.startsWith('/v2/docker/'), `Link path ${url.pathname} is outside the prefix`);
    });

    it('link pages through tags', async () => {
      const tags: string[] = [];
      let path: string | undefined = '/v2/docker/app/tags/list?n=1';

      for (let page = 0; path !== undefined && page < maxTagPages; page++) {
        const result = await wharfClient.getJson<TagList>(path);

        tags.push(...result.body.tags);
        path = linkTarget(result.response);
      }

      assert.equal(path, undefined, `still a next page after ${maxTagPages} pages`);
      assert.deepEqual(tags.sort(), upstreamAppTags);
    });
  });

  describe('not found upstream', () => {
    it('unknown repository returns 404', async () => {
      await upstream.resetRequests();

      const response = await wharfClient.fetch('/v2/docker/absent/manifests/1.0', {
        headers: { accept: manifestAccept },
      });
      const text = await response.text();
      const requests = await upstream.requests();

      assert.equal(response.status, 404, text);
      assertOciErrorBody(text, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
      assert.ok(
        countRequests(requests, { kind: 'manifest', repository: 'library/absent' }) >= 1,
        formatRequests(requests),
      );
    });

    it('unknown tag returns 404', async () => {
      const response = await wharfClient.fetch('/v2/docker/app/manifests/9.9', {
        headers: { accept: manifestAccept },
      });
      const text = await response.text();

      assert.equal(response.status, 404, text);
      assertOciErrorBody(text, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
    });

    it('repeated miss skips upstream', async () => {
      await upstream.resetRequests();

      const response = await wharfClient.fetch('/v2/docker/absent/manifests/1.0', {
        headers: { accept: manifestAccept },
      });
      const text = await response.text();
      const requests = await upstream.requests();

      assert.equal(response.status, 404, text);
      assert.equal(countRequests(requests, { kind: 'manifest' }), 0, formatRequests(requests));
    });
  });

  describe('push into prefix', () => {
    let pushError: string;
    let pushRequests: UpstreamRequest[];

    // The earlier pulls cached every blob of the app image, so the blob checks (HEAD) that skopeo
    // sends before an upload are served from the cache.
    before(async () => {
      await upstream.resetRequests();
      pushError = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        `oci:${appLayout}:1.0`,
        wharfReference('docker/app:pushed'),
      ]);
      pushRequests = await upstream.requests();
    });

    it('skopeo push is rejected', () => {
      assert.match(pushError, /denied|unsupported/i);
    });

    it('skopeo push sends nothing upstream', () => {
      assert.deepEqual(pushRequests, [], formatRequests(pushRequests));
    });

    it('upload start is rejected', async () => {
      await upstream.resetRequests();

      const response = await wharfClient.fetch('/v2/docker/app/blobs/uploads/', { method: 'POST' });
      const text = await response.text();
      const requests = await upstream.requests();

      assert.ok(response.status >= 400, `status ${response.status}: ${text}`);
      assert.ok(response.status < 500, `status ${response.status}: ${text}`);
      assertOciErrorBody(text, ['DENIED', 'UNSUPPORTED']);
      assert.deepEqual(requests, [], formatRequests(requests));
    });

    it('uncached push writes nothing upstream', async () => {
      const layout = join(workDirectory, 'uncached-push');

      await createSinglePlatformLayout(layout, '1.0', linuxMips64le);
      await upstream.resetRequests();

      const error = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        `oci:${layout}:1.0`,
        wharfReference('docker/other:pushed'),
      ]);
      const requests = await upstream.requests();
      const log = formatRequests(requests);

      assert.match(error, /denied|unsupported/i);
      assert.equal(countRequests(requests, { kind: 'upload' }), 0, log);
      assert.equal(countRequests(requests, { kind: 'manifest' }), 0, log);
      assert.deepEqual(
        requests.filter((request) => request.method !== 'GET' && request.method !== 'HEAD'),
        [],
        log,
      );
    });
  });

  describe('upstream stopped', () => {
    before(async () => {
      await upstream.stop();
      // The cached tag docker/app:1.0 goes past its TTL, so the next request for it must revalidate.
      await sleep(pastTagTtlMs);
    });

    it('serves cached manifest by digest', async () => {
      const response = await wharfClient.fetch(`/v2/docker/app/manifests/${appImage.manifest.digest}`, {
        headers: { accept: manifestAccept },
      });
      const bytes = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(computeDigest(bytes), appImage.manifest.digest);
    });

    it('serves cached blob', async () => {
      const layer = appImage.layers[0];

      assert.ok(layer);

      const response = await wharfClient.fetch(`/v2/docker/app/blobs/${layer.digest}`);
      const bytes = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.ok(bytes.equals(await readBlob(appLayout, layer.digest)), 'blob bytes differ from the source');
    });

    it('uncached tag returns 5xx', async () => {
      const response = await wharfClient.fetch('/v2/docker/app/manifests/3.0', {
        headers: { accept: manifestAccept },
        signal: AbortSignal.timeout(upstreamDownRequestTimeoutMs),
      });
      const text = await response.text();

      assert.ok([502, 503, 504].includes(response.status), `status ${response.status}: ${text}`);
      assertOciErrorBody(text, []);
    });

    it('stale tag served with warning', async () => {
      const response = await wharfClient.fetch('/v2/docker/app/manifests/1.0', {
        headers: { accept: manifestAccept },
        signal: AbortSignal.timeout(upstreamDownRequestTimeoutMs),
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      const warning = response.headers.get('warning') ?? '';

      assert.equal(response.status, 200);
      assert.equal(computeDigest(bytes), appImage.manifest.digest);
      assert.ok(warning.startsWith('299'), `Warning header is "${warning}"`);
    });

    it('skopeo pulls cached tag', async () => {
      const layout = await pullToLayout('docker/app:1.0', 'app-upstream-down', '1.0');

      assert.equal((await resolveTag(layout, '1.0')).digest, appImage.manifest.digest);
      await assertLayoutBlobsEqual(appLayout, layout);
    });
  });

  describe('statistics', () => {
    let rows: StatisticsRow[];
    let appRow: StatisticsRow | undefined;

    before(async () => {
      await wharf.stop();

      const database = openReadOnly(wharf.databasePath);

      try {
        rows = database.prepare('SELECT * FROM upstream_statistics').all() as StatisticsRow[];
      } finally {
        database.close();
      }

      appRow = rows.find((row) => row.upstream === 'docker' && row.repository === 'docker/library/app');
    });

    it('records app repository', () => {
      assert.ok(appRow, `no row for docker/library/app in ${JSON.stringify(rows)}`);
    });

    it('counts hits', () => {
      assert.ok(Number(appRow?.hits) > 0, JSON.stringify(appRow));
    });

    it('counts misses', () => {
      assert.ok(Number(appRow?.misses) > 0, JSON.stringify(appRow));
    });

    it('counts bytes fetched', () => {
      assert.ok(Number(appRow?.bytes_fetched) > 0, JSON.stringify(appRow));
    });

    it('counts bytes served', () => {
      assert.ok(Number(appRow?.bytes_served) > 0, JSON.stringify(appRow));
    });

    it('counts not found', () => {
      assert.ok(Number(appRow?.not_found) > 0, JSON.stringify(appRow));
    });

    it('counts upstream errors', () => {
      assert.ok(Number(appRow?.errors) > 0, JSON.stringify(appRow));
      assert.ok(appRow?.last_error_kind, JSON.stringify(appRow));
    });
  });
});
