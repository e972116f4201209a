import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
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
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const skopeoPath = '/usr/bin/skopeo';
/** Upper bound for one skopeo run, far above the few seconds that these images (under 10 MiB each) need. */
const skopeoTimeoutMs = 60_000;

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

interface ExecFailure {
  code?: number | string | null;
  signal?: NodeJS.Signals | null;
  killed?: boolean;
  stdout?: string;
  stderr?: string;
}

/**
 * Runs skopeo with configuration from a private directory only. That directory contains an empty
 * auth file, a policy that accepts unsigned images, an empty registries.d, and a private HOME with
 * an empty per-user registries.conf. Skopeo 1.9 has no flag for registries.conf, but a per-user
 * file stops it from reading /etc/containers/registries.conf and registries.conf.d.
 *
 * NOTE: skopeo run as root still records known blob locations in
 * /var/lib/containers/cache/blob-info-cache-v1.boltdb. Entries are keyed by registry host:port
 * and repository. A stale entry from an earlier server on the same port leads skopeo to try a
 * cross-repository mount or a blob check that fails, after which it uploads the blob.
 */
class Skopeo {
  private constructor(
    private readonly homeDirectory: string,
    private readonly authFile: string,
    private readonly policyFile: string,
    private readonly registriesDirectory: string,
    private readonly temporaryDirectory: string,
  ) {}

  static async create(directory: string): Promise<Skopeo> {
    const homeDirectory = join(directory, 'home');
    const userConfigDirectory = join(homeDirectory, '.config', 'containers');
    const authFile = join(directory, 'auth.json');
    const policyFile = join(directory, 'policy.json');
    const registriesDirectory = join(directory, 'registries.d');
    const temporaryDirectory = join(directory, 'tmp');

    await mkdir(userConfigDirectory, { recursive: true });
    await mkdir(registriesDirectory, { recursive: true });
    await mkdir(temporaryDirectory, { recursive: true });
    await writeFile(join(userConfigDirectory, 'registries.conf'), '');
    await writeFile(authFile, '{}');
    await writeFile(policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

    return new Skopeo(homeDirectory, authFile, policyFile, registriesDirectory, temporaryDirectory);
  }

  /** Copies from an `oci:` or `dir:` source to a Wharf `docker://` reference. */
  push(source: string, destination: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'copy', [...options, '--dest-tls-verify=false', source, destination]);
  }

  /** Copies from a Wharf `docker://` reference to an `oci:` or `dir:` destination. */
  pull(source: string, destination: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'copy', [...options, '--src-tls-verify=false', source, destination]);
  }

  /** Runs `skopeo inspect` and returns its standard output, which with `--raw` is the exact manifest bytes. */
  inspect(reference: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'inspect', [...options, ...this.tlsOptions(reference), reference]);
  }

  /**
   * Runs a command with the private configuration. `globalOptions` go before the command, such
   * as `--override-arch`. Rejects with an AssertionError that contains skopeo's stderr.
   */
  async run(globalOptions: readonly string[], command: string, options: readonly string[]): Promise<string> {
    const args = this.arguments(globalOptions, command, options);
    const result = await this.execute(args);

    if (result.failure) {
      assert.fail(describeFailure(args, result.failure));
    }

    return result.stdout;
  }

  /** Runs a command that must fail and returns its stderr. */
  async runExpectingFailure(command: string, options: readonly string[]): Promise<string> {
    const args = this.arguments([], command, options);
    const result = await this.execute(args);

    assert.ok(result.failure, `skopeo ${args.join(' ')} succeeded, expected it to fail:\n${result.stdout}`);

    return result.failure.stderr ?? '';
  }

  private tlsOptions(reference: string): string[] {
    return reference.startsWith('docker://') ? ['--tls-verify=false'] : [];
  }

  private arguments(globalOptions: readonly string[], command: string, options: readonly string[]): string[] {
    return [
      '--policy',
      this.policyFile,
      '--registries.d',
      this.registriesDirectory,
      '--tmpdir',
      this.temporaryDirectory,
      ...globalOptions,
      command,
      '--authfile',
      this.authFile,
      ...options,
    ];
  }

  private execute(args: readonly string[]): Promise<{ stdout: string; failure?: ExecFailure }> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.homeDirectory,
      XDG_CONFIG_HOME: join(this.homeDirectory, '.config'),
      XDG_RUNTIME_DIR: this.temporaryDirectory,
      TMPDIR: this.temporaryDirectory,
    };

    return new Promise((resolve) => {
      execFile(
        skopeoPath,
        args,
        { env, timeout: skopeoTimeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            resolve({ stdout, failure: { ...(error as ExecFailure), stdout, stderr } });
          } else {
            resolve({ stdout });
          }
        },
      );
    });
  }
}

function describeFailure(args: readonly string[], failure: ExecFailure): string {
  const outcome = failure.killed
    ? `was killed after the ${skopeoTimeoutMs} ms timeout`
    : `failed with exit code ${String(failure.code)}`;

  return `skopeo ${args.join(' ')} ${outcome}\nstderr:\n${failure.stderr ?? ''}`;
}

/** Asserts that every blob of `expectedDirectory` is in `actualDirectory` with equal bytes. */
async function assertLayoutBlobsEqual(expectedDirectory: string, actualDirectory: string): Promise<void> {
  for (const digest of await listBlobDigests(expectedDirectory)) {
    const expected = await readBlob(expectedDirectory, digest);
    const actual = await readBlob(actualDirectory, digest).catch(() => undefined);

    assert.ok(actual, `blob ${digest} is missing from ${actualDirectory}`);
    assert.ok(actual.equals(expected), `blob ${digest} differs from the source bytes`);
  }
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
