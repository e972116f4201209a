import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { findPackage } from '../../../common/package-info.js';
import type { FileFindings, FoundPackage } from '../inventory.js';
import { javaCollector, parseProperties } from './java.js';

const fixtures = join(findPackage(import.meta.url).root, 'test/fixtures/lockfiles/java');
const debianJars = '/usr/share/java';
const megabyte = 1024 * 1024;

function collect(path: string, data: Buffer, maxBytes = 16 * megabyte): Promise<FileFindings> {
  return javaCollector().collect(
    { path, size: data.length, mode: 0o644, content: Readable.from([data]) },
    maxBytes,
  );
}

function fixture(name: string): Buffer {
  return readFileSync(join(fixtures, name));
}

function nameVersions(packages: FoundPackage[]): string[] {
  return packages.map((entry) => `${entry.name}@${entry.version}`).sort();
}

function hasCommand(command: string): boolean {
  return spawnSync(command, ['-v'], { stdio: 'ignore', timeout: 10_000 }).error === undefined;
}

/** Runs the `zip` command in `folder`; `-0` stores entries uncompressed, as Spring Boot stores nested jars. */
function zip(folder: string, args: string[]): void {
  const result = spawnSync('zip', ['-q', ...args], { cwd: folder, encoding: 'utf8', timeout: 60_000 });

  assert.equal(result.status, 0, result.stderr);
}

describe('java collector', () => {
  describe('wants', () => {
    const collector = javaCollector();
    const cases: [string, boolean][] = [
      ['/app/app.jar', true],
      ['/usr/local/tomcat/webapps/shop.war', true],
      ['/opt/server/deploy/billing.EAR', true],
      ['/app/app.jar.sha1', false],
      ['/app/classes/App.class', false],
    ];

    for (const [path, wanted] of cases) {
      it(`${wanted ? 'wants' : 'skips'} ${path}`, () => {
        assert.equal(collector.wants(path, 100, 0o644), wanted);
      });
    }
  });

  it('reads the pom.properties of a Debian jar', async () => {
    const { packages, warnings } = await collect(
      '/usr/share/java/slf4j-nop.jar',
      fixture('slf4j-nop-1.7.32.jar'),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(packages, [
      {
        type: 'maven',
        name: 'org.slf4j:slf4j-nop',
        version: '1.7.32',
        purl: 'pkg:maven/org.slf4j/slf4j-nop@1.7.32',
      },
    ]);
  });

  it('lists every artifact of a shaded jar', async () => {
    const { packages, warnings } = await collect(
      '/x/provider.jar',
      fixture('maven-slf4j-provider-3.8.7.jar'),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(nameVersions(packages), [
      'org.apache.maven:maven-slf4j-provider@3.8.7',
      'org.slf4j:slf4j-simple@1.7.32',
    ]);
  });

  it('yields nothing for a jar without pom.properties', async () => {
    const findings = await collect('/x/guice-multibindings.jar', fixture('guice-multibindings-4.2.3.jar'));

    assert.deepEqual(findings, { packages: [], warnings: [] });
  });

  describe('nested archives', () => {
    let folder = '';
    let built = false;

    /**
     * Builds `app.jar` with slf4j-nop stored under BOOT-INF/lib and the shaded provider deflated
     * under WEB-INF/lib, and `outer.jar` with app.jar and a jar without pom.properties stored under
     * BOOT-INF/lib.
     */
    before(() => {
      folder = mkdtempSync(join(tmpdir(), 'wharf-java-collector-'));

      if (!hasCommand('zip')) {
        return;
      }

      mkdirSync(join(folder, 'boot/BOOT-INF/lib'), { recursive: true });
      mkdirSync(join(folder, 'boot/WEB-INF/lib'), { recursive: true });
      copyFileSync(
        join(fixtures, 'slf4j-nop-1.7.32.jar'),
        join(folder, 'boot/BOOT-INF/lib/slf4j-nop-1.7.32.jar'),
      );
      copyFileSync(
        join(fixtures, 'maven-slf4j-provider-3.8.7.jar'),
        join(folder, 'boot/WEB-INF/lib/maven-slf4j-provider-3.8.7.jar'),
      );
      zip(join(folder, 'boot'), ['-r', '-0', '../app.jar', 'BOOT-INF']);
      zip(join(folder, 'boot'), ['-r', '../app.jar', 'WEB-INF']);

      mkdirSync(join(folder, 'outer/BOOT-INF/lib'), { recursive: true });
      copyFileSync(join(folder, 'app.jar'), join(folder, 'outer/BOOT-INF/lib/app.jar'));
      copyFileSync(
        join(fixtures, 'guice-multibindings-4.2.3.jar'),
        join(folder, 'outer/BOOT-INF/lib/guice.jar'),
      );
      zip(join(folder, 'outer'), ['-r', '-0', '../outer.jar', 'BOOT-INF']);
      built = true;
    });

    after(() => {
      rmSync(folder, { recursive: true, force: true });
    });

    it('reads Spring Boot and web application libraries', async (context) => {
      if (!built) {
        context.skip('the zip command is not installed');

        return;
      }

      const { packages, warnings } = await collect('/app/app.jar', readFileSync(join(folder, 'app.jar')));

      assert.deepEqual(warnings, []);
      assert.deepEqual(nameVersions(packages), [
        'org.apache.maven:maven-slf4j-provider@3.8.7',
        'org.slf4j:slf4j-nop@1.7.32',
        'org.slf4j:slf4j-simple@1.7.32',
      ]);
    });

    it('opens only one level of nesting', async (context) => {
      if (!built) {
        context.skip('the zip command is not installed');

        return;
      }

      const findings = await collect('/app/outer.jar', readFileSync(join(folder, 'outer.jar')));

      assert.deepEqual(findings, { packages: [], warnings: [] });
    });

    it('reports a nested archive over the memory left', async (context) => {
      if (!built) {
        context.skip('the zip command is not installed');

        return;
      }

      const data = readFileSync(join(folder, 'app.jar'));
      const { packages, warnings } = await collect('/app/app.jar', data, data.length + 5000);

      assert.deepEqual(nameVersions(packages), ['org.slf4j:slf4j-nop@1.7.32']);
      assert.deepEqual(warnings, [
        '/app/app.jar!/WEB-INF/lib/maven-slf4j-provider-3.8.7.jar: the file has 20383 bytes, more than the limit of 5000 bytes, and was not read',
      ]);
    });
  });

  it('agrees with unzip on the jars of this machine', async (context) => {
    if (!existsSync(debianJars) || !hasCommand('unzip')) {
      context.skip(`${debianJars} or the unzip command is missing`);

      return;
    }

    const jars = readdirSync(debianJars)
      .filter((name) => name.endsWith('.jar') && !lstatSync(join(debianJars, name)).isSymbolicLink())
      .slice(0, 40);

    for (const name of jars) {
      const path = join(debianJars, name);
      const listing = spawnSync('unzip', ['-Z1', path], { encoding: 'utf8', timeout: 30_000 });
      const poms = listing.stdout
        .split('\n')
        .filter((entry) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(entry));
      const expected = poms.map((entry) => {
        const properties = parseProperties(
          spawnSync('unzip', ['-p', path, entry], { encoding: 'utf8' }).stdout,
        );

        return `${properties.get('groupId')}:${properties.get('artifactId')}@${properties.get('version')}`;
      });
      const { packages, warnings } = await collect(path, readFileSync(path));

      assert.deepEqual(warnings, [], name);
      assert.deepEqual(nameVersions(packages), [...new Set(expected)].sort(), name);
    }
  });

  describe('bad input', () => {
    it('reads past entries with unsafe names', async (context) => {
      const script = [
        'import io, sys, zipfile',
        'buffer = io.BytesIO()',
        'with zipfile.ZipFile(buffer, "w") as archive:',
        '    archive.writestr("../escape.txt", "x")',
        '    archive.writestr("/etc/absolute.txt", "x")',
        '    archive.writestr("META-INF/maven/org.example/demo/pom.properties", "groupId=org.example\\nartifactId=demo\\nversion=2.1\\n")',
        'sys.stdout.buffer.write(buffer.getvalue())',
      ].join('\n');
      const result = spawnSync('python3', ['-c', script], { timeout: 30_000 });

      if (result.status !== 0) {
        context.skip('python3 is not installed');

        return;
      }

      const findings = await collect('/app/odd.jar', result.stdout);

      assert.deepEqual(findings, {
        packages: [
          { type: 'maven', name: 'org.example:demo', version: '2.1', purl: 'pkg:maven/org.example/demo@2.1' },
        ],
        warnings: [],
      });
    });

    it('reports a truncated jar', async () => {
      const data = fixture('slf4j-nop-1.7.32.jar');
      const { packages, warnings } = await collect('/app/lib/x.jar', data.subarray(0, 2000));

      assert.deepEqual(packages, []);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^\/app\/lib\/x\.jar: failed to read the archive: /);
    });

    it('reports binary garbage', async () => {
      const data = Buffer.alloc(4096);

      for (let index = 0; index < data.length; index += 1) {
        data[index] = (index * 7919) % 251;
      }

      const { warnings } = await collect('/app/lib/x.jar', data);

      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^\/app\/lib\/x\.jar: failed to read the archive: /);
    });

    it('reports an oversized archive', async () => {
      const data = fixture('maven-slf4j-provider-3.8.7.jar');
      const { warnings } = await collect('/app/lib/x.jar', data, 10_000);

      assert.deepEqual(warnings, [
        `/app/lib/x.jar: the file has ${data.length} bytes, more than the limit of 10000 bytes, and was not read`,
      ]);
    });
  });
});
