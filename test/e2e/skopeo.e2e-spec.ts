import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  assertLayoutBlobsEqual,
  createMultiPlatformLayout,
  createSinglePlatformLayout,
  initOciLayout,
  linuxAmd64,
  listBlobDigests,
  ociMediaTypes,
  readBlob,
  resolveTag,
  sampleLayerFiles,
  sha256Digest,
  tagInLayout,
  type TarFile,
  type WrittenImage,
  type WrittenIndex,
  writeImage,
} from '../support/oci-layout.js';
import { Skopeo, skopeoPath } from '../support/skopeo.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const dockerMediaTypes = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Fields of `skopeo inspect` output (skopeo 1.9) that these tests read. */
interface InspectOutput {
  Name?: string;
  Digest: string;
  RepoTags?: string[];
  Architecture: string;
  Os: string;
  Layers: string[];
}

interface ListTagsOutput {
  Repository: string;
  Tags: string[];
}

interface ManifestJson {
  mediaType?: string;
  config: { mediaType: string; digest: string };
  layers: { mediaType: string; digest: string }[];
}

describe('skopeo against wharf', () => {
  let wharf: WharfServer;
  let workDirectory: string;
  let skopeo: Skopeo;
  let singleLayout: string;
  let singleImage: WrittenImage;
  let multiLayout: string;
  let multiIndex: WrittenIndex;

  const dockerReference = (repositoryAndTag: string): string =>
    `docker://${wharf.hostPort}/${repositoryAndTag}`;
  const outputDirectory = (name: string): string => join(workDirectory, 'out', name);

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-skopeo-'));
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));
    singleLayout = join(workDirectory, 'single');
    singleImage = await createSinglePlatformLayout(singleLayout, 'v1');
    multiLayout = join(workDirectory, 'multi');
    multiIndex = await createMultiPlatformLayout(multiLayout, 'v1');
    await mkdir(join(workDirectory, 'out'));
    wharf = await startWharf();
  });

  after(async () => {
    await wharf?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  describe('oci image round trip', () => {
    let pulledLayout: string;

    before(async () => {
      pulledLayout = outputDirectory('round-trip');
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/app:v1'));
      await skopeo.pull(dockerReference('team/app:v1'), `oci:${pulledLayout}:v1`);
    });

    it('manifest digest matches source', async () => {
      const pulled = await resolveTag(pulledLayout, 'v1');

      assert.equal(pulled.digest, singleImage.manifest.digest);
      assert.equal(pulled.mediaType, ociMediaTypes.imageManifest);
      assert.equal(pulled.size, singleImage.manifest.size);
    });

    it('blob set matches source', async () => {
      assert.deepEqual(await listBlobDigests(pulledLayout), await listBlobDigests(singleLayout));
    });

    it('blob bytes match source', async () => {
      await assertLayoutBlobsEqual(singleLayout, pulledLayout);
    });

    it('raw manifest matches source bytes', async () => {
      const raw = await skopeo.inspect(dockerReference('team/app:v1'), ['--raw']);
      const source = await readBlob(singleLayout, singleImage.manifest.digest);

      assert.equal(raw, source.toString('utf8'));
    });

    it('raw config matches source bytes', async () => {
      const raw = await skopeo.inspect(dockerReference('team/app:v1'), ['--config', '--raw']);
      const source = await readBlob(singleLayout, singleImage.config.digest);

      assert.equal(raw, source.toString('utf8'));
    });
  });

  describe('large layer', () => {
    let largeLayout: string;
    let largeImage: WrittenImage;
    let pulledLayout: string;

    before(async () => {
      // The skopeo binary (about 16 MiB) makes a gzip layer of about 6 MiB, which reaches the server in many chunks.
      const binary: TarFile = { path: 'usr/bin/skopeo', content: await readFile(skopeoPath), mode: 0o755 };

      largeLayout = join(workDirectory, 'large');
      await initOciLayout(largeLayout);
      largeImage = await writeImage(largeLayout, linuxAmd64, [
        ...(await sampleLayerFiles(linuxAmd64)),
        [binary],
      ]);
      await tagInLayout(largeLayout, 'v1', largeImage.manifest);

      pulledLayout = outputDirectory('large');
      await skopeo.push(`oci:${largeLayout}:v1`, dockerReference('team/large:v1'));
      await skopeo.pull(dockerReference('team/large:v1'), `oci:${pulledLayout}:v1`);
    });

    it('manifest digest matches source', async () => {
      const pulled = await resolveTag(pulledLayout, 'v1');

      assert.equal(pulled.digest, largeImage.manifest.digest);
    });

    it('blob bytes match source', async () => {
      assert.deepEqual(await listBlobDigests(pulledLayout), await listBlobDigests(largeLayout));
      await assertLayoutBlobsEqual(largeLayout, pulledLayout);
    });
  });

  describe('image index', () => {
    before(async () => {
      await skopeo.push(`oci:${multiLayout}:v1`, dockerReference('team/multi:v1'), ['--all']);
    });

    it('raw index matches source bytes', async () => {
      const raw = await skopeo.inspect(dockerReference('team/multi:v1'), ['--raw']);
      const source = await readBlob(multiLayout, multiIndex.index.digest);

      assert.equal(raw, source.toString('utf8'));
      assert.equal(sha256Digest(Buffer.from(raw)), multiIndex.index.digest);
    });

    it('children pull by digest', async () => {
      for (const image of multiIndex.images) {
        const architecture = image.manifest.platform?.architecture ?? 'unknown';
        const pulledLayout = outputDirectory(`child-${architecture}`);

        await skopeo.pull(
          dockerReference(`team/multi@${image.manifest.digest}`),
          `oci:${pulledLayout}:child`,
        );

        const pulled = await resolveTag(pulledLayout, 'child');

        assert.equal(pulled.digest, image.manifest.digest, `digest of the ${architecture} child`);
        assert.equal(
          pulled.mediaType,
          ociMediaTypes.imageManifest,
          `media type of the ${architecture} child`,
        );

        const pulledManifest = JSON.parse(
          (await readBlob(pulledLayout, pulled.digest)).toString('utf8'),
        ) as ManifestJson;

        assert.deepEqual(
          pulledManifest.layers.map((layer) => layer.digest),
          image.layers.map((layer) => layer.digest),
          `layers of the ${architecture} child`,
        );
        assert.equal(
          pulledManifest.config.digest,
          image.config.digest,
          `config of the ${architecture} child`,
        );
      }
    });

    it('tag selects requested platform', async () => {
      for (const image of multiIndex.images) {
        const platform = image.manifest.platform;

        assert.ok(platform, 'every written child has a platform');

        const pulledLayout = outputDirectory(`selected-${platform.architecture}`);
        const overrides = ['--override-os', platform.os, '--override-arch', platform.architecture];

        if (platform.variant) {
          overrides.push('--override-variant', platform.variant);
        }

        await skopeo.run(overrides, 'copy', [
          '--src-tls-verify=false',
          dockerReference('team/multi:v1'),
          `oci:${pulledLayout}:selected`,
        ]);

        const pulled = await resolveTag(pulledLayout, 'selected');

        assert.equal(pulled.digest, image.manifest.digest, `digest selected for ${platform.architecture}`);
      }
    });

    it('index round trip keeps digest', async () => {
      const pulledLayout = outputDirectory('index-round-trip');

      await skopeo.pull(dockerReference('team/multi:v1'), `oci:${pulledLayout}:v1`, ['--all']);

      const pulled = await resolveTag(pulledLayout, 'v1');

      assert.equal(pulled.digest, multiIndex.index.digest);
      assert.equal(pulled.mediaType, ociMediaTypes.imageIndex);
      assert.deepEqual(await listBlobDigests(pulledLayout), await listBlobDigests(multiLayout));
      await assertLayoutBlobsEqual(multiLayout, pulledLayout);
    });
  });

  describe('docker schema 2 image', () => {
    let convertedDirectory: string;
    let convertedManifest: string;
    let wharfManifest: string;

    before(async () => {
      // A local conversion shows the exact manifest bytes that skopeo sends with --format v2s2.
      convertedDirectory = outputDirectory('converted-v2s2');
      await skopeo.run([], 'copy', [
        '--format',
        'v2s2',
        `oci:${singleLayout}:v1`,
        `dir:${convertedDirectory}`,
      ]);
      convertedManifest = await readFile(join(convertedDirectory, 'manifest.json'), 'utf8');

      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/legacy:v1'), ['--format', 'v2s2']);
      wharfManifest = await skopeo.inspect(dockerReference('team/legacy:v1'), ['--raw']);
    });

    it('stores pushed manifest bytes', () => {
      assert.equal(wharfManifest, convertedManifest);
    });

    it('manifest has schema 2 types', () => {
      const manifest = JSON.parse(wharfManifest) as ManifestJson;

      assert.equal(manifest.mediaType, dockerMediaTypes.manifest);
      assert.equal(manifest.config.mediaType, dockerMediaTypes.config);
      assert.equal(manifest.layers.length, singleImage.layers.length);

      for (const [position, layer] of manifest.layers.entries()) {
        assert.equal(layer.mediaType, dockerMediaTypes.layerTarGzip, `media type of layer ${position}`);
      }
    });

    it('inspect digest matches manifest', async () => {
      const inspected = JSON.parse(await skopeo.inspect(dockerReference('team/legacy:v1'))) as InspectOutput;

      assert.equal(inspected.Digest, sha256Digest(Buffer.from(convertedManifest)));
    });

    it('pull by tag keeps digest', async () => {
      const pulledDirectory = outputDirectory('legacy-by-tag');

      await skopeo.pull(dockerReference('team/legacy:v1'), `dir:${pulledDirectory}`);

      const pulledManifest = await readFile(join(pulledDirectory, 'manifest.json'));
      const inspectedRaw = await skopeo.inspect(`dir:${pulledDirectory}`, ['--raw']);

      assert.equal(sha256Digest(pulledManifest), sha256Digest(Buffer.from(convertedManifest)));
      assert.equal(inspectedRaw, convertedManifest);
    });

    it('pull by digest keeps digest', async () => {
      const digest = sha256Digest(Buffer.from(convertedManifest));
      const pulledDirectory = outputDirectory('legacy-by-digest');

      await skopeo.pull(dockerReference(`team/legacy@${digest}`), `dir:${pulledDirectory}`);

      const pulledManifest = await readFile(join(pulledDirectory, 'manifest.json'));

      assert.equal(sha256Digest(pulledManifest), digest);
    });

    it('pulled blobs match source', async () => {
      const pulledDirectory = outputDirectory('legacy-blobs');

      await skopeo.pull(dockerReference('team/legacy:v1'), `dir:${pulledDirectory}`);

      // The v2s2 conversion changes only media types, so config and layer digests stay those of the source.
      for (const descriptor of [singleImage.config, ...singleImage.layers]) {
        const encoded = descriptor.digest.slice('sha256:'.length);
        const pulled = await readFile(join(pulledDirectory, encoded));
        const source = await readBlob(singleLayout, descriptor.digest);

        assert.ok(pulled.equals(source), `blob ${descriptor.digest} differs from the source bytes`);
      }
    });
  });

  describe('inspect', () => {
    let inspected: InspectOutput;

    before(async () => {
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/inspect:v1'));
      inspected = JSON.parse(await skopeo.inspect(dockerReference('team/inspect:v1'))) as InspectOutput;
    });

    it('reports manifest digest', () => {
      assert.equal(inspected.Digest, singleImage.manifest.digest);
    });

    it('reports layers in order', () => {
      assert.deepEqual(
        inspected.Layers,
        singleImage.layers.map((layer) => layer.digest),
      );
    });

    it('reports platform', () => {
      assert.equal(inspected.Os, 'linux');
      assert.equal(inspected.Architecture, 'amd64');
    });

    it('reports repository tags', () => {
      assert.deepEqual(inspected.RepoTags, ['v1']);
    });

    it('digest reference reports digest', async () => {
      const byDigest = JSON.parse(
        await skopeo.inspect(dockerReference(`team/inspect@${singleImage.manifest.digest}`)),
      ) as InspectOutput;

      assert.equal(byDigest.Digest, singleImage.manifest.digest);
    });
  });

  describe('list-tags', () => {
    it('lists both pushed tags', async () => {
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/tags:v1'));
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/tags:v2'));

      const output = await skopeo.run([], 'list-tags', ['--tls-verify=false', dockerReference('team/tags')]);
      const listed = JSON.parse(output) as ListTagsOutput;

      assert.equal(listed.Repository, `${wharf.hostPort}/team/tags`);
      assert.deepEqual([...listed.Tags].sort(), ['v1', 'v2']);
    });

    it('unknown repository fails', async () => {
      const stderr = await skopeo.runExpectingFailure('list-tags', [
        '--tls-verify=false',
        dockerReference('team/never-pushed'),
      ]);

      // Skopeo 1.9 list-tags reports only the status line, not the registry's error code.
      assert.match(stderr, /404 \(Not Found\)/);
    });
  });

  describe('delete', () => {
    before(async () => {
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/doomed:v1'));
      await skopeo.push(`oci:${singleLayout}:v1`, dockerReference('team/kept:v1'));
      await skopeo.run([], 'delete', ['--tls-verify=false', dockerReference('team/doomed:v1')]);
    });

    it('inspect by tag fails', async () => {
      const stderr = await skopeo.runExpectingFailure('inspect', [
        '--tls-verify=false',
        dockerReference('team/doomed:v1'),
      ]);

      assert.match(stderr, /manifest unknown/i);
    });

    it('inspect by digest fails', async () => {
      const stderr = await skopeo.runExpectingFailure('inspect', [
        '--tls-verify=false',
        dockerReference(`team/doomed@${singleImage.manifest.digest}`),
      ]);

      assert.match(stderr, /manifest unknown/i);
    });

    it('other repository keeps image', async () => {
      const inspected = JSON.parse(await skopeo.inspect(dockerReference('team/kept:v1'))) as InspectOutput;

      assert.equal(inspected.Digest, singleImage.manifest.digest);
    });
  });
});
