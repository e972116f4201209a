import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import type { FileFindings, FoundPackage } from '../inventory.js';
import { goCollector, minGoBinaryBytes, modulesOf } from './go.js';

const megabyte = 1024 * 1024;

/** The markers Go's linker puts around the module info (from a real go1.19.8 binary). */
const startMarker = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const endMarker = Buffer.from('f932433186182072008242104116d8f2', 'hex');

const sampleModuleInfo = [
  'path\texample.com/tool/cmd/tool',
  'mod\texample.com/tool\tv1.4.0\th1:abc=',
  'dep\tgolang.org/x/net\tv0.17.0\th1:def=',
  'dep\tgithub.com/docker/docker\tv24.0.7+incompatible\th1:ghi=',
  'build\tGOOS=linux',
  '',
].join('\n');

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;

  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }

  bytes.push(rest);

  return Buffer.from(bytes);
}

/** Builds a Go 1.18+ build info section as the linker writes it: header, then two length-prefixed strings. */
function buildInfo(goVersion: string, moduleInfo: string, flags = 0x2): Buffer {
  const header = Buffer.alloc(32);
  const modules = Buffer.concat([startMarker, Buffer.from(moduleInfo), endMarker]);

  header.write('\xff Go buildinf:', 'latin1');
  header[14] = 8;
  header[15] = flags;

  return Buffer.concat([
    header,
    uvarint(goVersion.length),
    Buffer.from(goVersion),
    uvarint(modules.length),
    modules,
  ]);
}

/** Builds an ELF-looking file with `parts` placed at the given offsets and zeros between them. */
function elfFile(size: number, parts: [number, Buffer][]): Buffer {
  const file = Buffer.alloc(size);

  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);

  for (const [offset, bytes] of parts) {
    file.set(bytes, offset);
  }

  return file;
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];

  for (let offset = 0; offset < data.length; offset += size) {
    chunks.push(data.subarray(offset, offset + size));
  }

  return chunks;
}

function collect(data: Buffer, chunkSize = 65536, maxBytes = megabyte): Promise<FileFindings> {
  const content = Readable.from(chunksOf(data, chunkSize));

  return goCollector().collect(
    { path: '/usr/local/bin/tool', size: data.length, mode: 0o755, content },
    maxBytes,
  );
}

function collectFile(path: string): Promise<FileFindings> {
  const content = createReadStream(path);

  return goCollector().collect({ path, size: statSync(path).size, mode: 0o755, content }, 16 * megabyte);
}

function nameVersions(packages: FoundPackage[]): string[] {
  return packages.map((entry) => `${entry.name}@${entry.version}`).sort();
}

function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/**
 * Lists the packages the Go toolchain's own reader (`go version -m`) finds in a binary, with the
 * rules the collector documents: `(devel)` versions and replacements by a local directory change
 * nothing, and the toolchain is `stdlib`.
 */
function packagesByGoVersion(path: string): string[] {
  const result = spawnSync('go', ['version', '-m', path], { encoding: 'utf8', timeout: 60_000 });
  const [first, ...lines] = result.stdout.split('\n');
  const modules: string[][] = [];

  for (const line of lines) {
    const [kind, modulePath, version] = line.trim().split('\t');

    if (kind === 'mod' || kind === 'dep') {
      modules.push([modulePath, version ?? '']);
    }

    if (
      kind === '=>' &&
      !modulePath.startsWith('.') &&
      !modulePath.startsWith('/') &&
      version !== '(devel)'
    ) {
      modules[modules.length - 1] = [modulePath, version];
    }
  }

  const toolchain = /: go(\S+)/.exec(first)?.[1];

  return [
    `stdlib@${toolchain}`,
    ...modules
      .filter(([, version]) => version !== '' && version !== '(devel)')
      .map(([name, version]) => `${name}@${version}`),
  ].sort();
}

describe('go collector', () => {
  describe('wants', () => {
    const collector = goCollector();

    it('wants large executables only', () => {
      assert.equal(collector.wants('/usr/bin/skopeo', 16 * megabyte, 0o755), true);
      assert.equal(collector.wants('/usr/bin/skopeo', 16 * megabyte, 0o644), false);
      assert.equal(collector.wants('/usr/bin/small', minGoBinaryBytes - 1, 0o755), false);
      assert.equal(collector.wants('/app/app.jar', 16 * megabyte, 0o755), false);
    });
  });

  it('finds the build info across chunk boundaries', async () => {
    const file = elfFile(4096, [[2048, buildInfo('go1.21.3', sampleModuleInfo)]]);
    const expected = [
      'example.com/tool@v1.4.0',
      'github.com/docker/docker@v24.0.7+incompatible',
      'golang.org/x/net@v0.17.0',
      'stdlib@1.21.3',
    ];

    for (const chunkSize of [1, 5, 13, 14, 15, 31, 32, 33, 100, 2049, 4096]) {
      const { packages, warnings } = await collect(file, chunkSize);

      assert.deepEqual(warnings, [], `chunks of ${chunkSize}`);
      assert.deepEqual(nameVersions(packages), expected, `chunks of ${chunkSize}`);
    }
  });

  it('builds golang purls', async () => {
    const { packages } = await collect(elfFile(4096, [[1024, buildInfo('go1.21.3', sampleModuleInfo)]]));

    assert.deepEqual(
      packages.map((entry) => entry.purl),
      [
        'pkg:golang/stdlib@1.21.3',
        'pkg:golang/example.com/tool@v1.4.0',
        'pkg:golang/golang.org/x/net@v0.17.0',
        'pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible',
      ],
    );
  });

  it('skips a magic that is not 16-byte aligned or has no valid header', async () => {
    const stray = Buffer.from('\xff Go buildinf:\x03\x02', 'latin1');
    const file = elfFile(8192, [
      [1001, buildInfo('go1.20.1', 'path\tx\n')],
      [2048, stray],
      [4096, buildInfo('go1.21.3', sampleModuleInfo)],
    ]);
    const { packages, warnings } = await collect(file, 700);

    assert.deepEqual(warnings, []);
    assert.equal(packages[0].version, '1.21.3');
    assert.equal(packages.length, 4);
  });

  it('reports build info before Go 1.18', async () => {
    const { packages, warnings } = await collect(elfFile(4096, [[512, buildInfo('go1.16', '', 0x0)]]));

    assert.deepEqual(packages, []);
    assert.deepEqual(warnings, ['/usr/local/bin/tool: Go build info before Go 1.18 is not read']);
  });

  it('ignores a file that is not ELF after its first bytes', async () => {
    let chunksRead = 0;
    const script = Buffer.from('#!/bin/sh\necho hello\n'.padEnd(4096, '#'));

    const chunks = function* (): Generator<Buffer> {
      for (let index = 0; index < 1000; index += 1) {
        chunksRead += 1;
        yield script;
      }
    };

    const findings = await goCollector().collect(
      { path: '/usr/local/bin/run.sh', size: 4096 * 1000, mode: 0o755, content: Readable.from(chunks()) },
      megabyte,
    );

    assert.deepEqual(findings, { packages: [], warnings: [] });
    assert.ok(chunksRead < 100, `${chunksRead} chunks read`);
  });

  it('yields nothing for an ELF file without build info', async () => {
    const findings = await collect(elfFile(100_000, []), 4096);

    assert.deepEqual(findings, { packages: [], warnings: [] });
  });

  describe('bad input', () => {
    it('reports truncated build info', async () => {
      const info = buildInfo('go1.21.3', sampleModuleInfo);
      const file = elfFile(1024 + 60, [[1024, info.subarray(0, 60)]]);
      const { warnings } = await collect(file);

      assert.deepEqual(warnings, ['/usr/local/bin/tool: the Go build info is truncated']);
    });

    it('reports build info over the limit', async () => {
      const file = elfFile(65536, [[1024, buildInfo('go1.21.3', sampleModuleInfo.repeat(200))]]);
      const { packages, warnings } = await collect(file, 4096, 10_000);

      assert.deepEqual(packages, []);
      assert.deepEqual(warnings, [
        '/usr/local/bin/tool: the Go build info is larger than the limit of 10000 bytes and was not read',
      ]);
    });

    it('reports an invalid string length', async () => {
      const header = buildInfo('go1.21.3', '').subarray(0, 32);
      const file = elfFile(4096, [[1024, Buffer.concat([header, Buffer.alloc(12, 0xff)])]]);
      const { warnings } = await collect(file);

      assert.deepEqual(warnings, ['/usr/local/bin/tool: the Go build info has an invalid string length']);
    });
  });

  describe('modulesOf', () => {
    it('applies replacements by module versions only', () => {
      const moduleInfo = [
        'path\tk8s.io/kubernetes/cmd/kubectl',
        'mod\tk8s.io/kubernetes\t(devel)\t',
        'dep\tk8s.io/api\tv0.0.0',
        '=>\t./staging/src/k8s.io/api\t(devel)\t',
        'dep\tgolang.org/x/crypto\tv0.1.0\th1:a=',
        '=>\tgithub.com/fork/crypto\tv0.1.1\th1:b=',
        '',
      ].join('\n');

      assert.deepEqual(nameVersions(modulesOf('go1.22.8', moduleInfo)), [
        'github.com/fork/crypto@v0.1.1',
        'k8s.io/api@v0.0.0',
        'stdlib@1.22.8',
      ]);
    });

    it('reads toolchain versions', () => {
      assert.deepEqual(nameVersions(modulesOf('go1.22.0 X:boringcrypto', '')), ['stdlib@1.22.0']);
      assert.deepEqual(nameVersions(modulesOf('go1.21rc2', '')), ['stdlib@1.21rc2']);
      assert.deepEqual(modulesOf('devel go1.23-6a0d1c4 Tue Oct 10 2023', ''), []);
    });
  });

  describe('real binaries', () => {
    for (const path of ['/usr/bin/skopeo', '/usr/bin/docker-registry']) {
      it(`reads the Debian build of ${path}`, async (context) => {
        if (!existsSync(path)) {
          context.skip(`${path} is not installed`);

          return;
        }

        const { packages, warnings } = await collectFile(path);

        assert.deepEqual(warnings, []);
        // Debian builds Go programs outside module mode, so only the toolchain is recorded.
        assert.equal(packages.length, 1);
        assert.equal(packages[0].name, 'stdlib');
        assert.match(packages[0].version, /^\d+\.\d+(\.\d+)?$/);

        if (hasGo()) {
          assert.deepEqual(nameVersions(packages), packagesByGoVersion(path));
        }
      });
    }

    for (const name of ['cbt', 'kubectl.1.28']) {
      const path = join('/usr/lib/google-cloud-sdk/bin', name);

      it(`agrees with go version -m on ${name}`, async (context) => {
        if (!existsSync(path) || !hasGo()) {
          context.skip(`${path} or the go command is missing`);

          return;
        }

        const { packages, warnings } = await collectFile(path);
        const expected = packagesByGoVersion(path);

        assert.deepEqual(warnings, []);
        assert.ok(expected.length > 20, `${expected.length} modules`);
        assert.deepEqual(nameVersions(packages), expected);
      });
    }

    it('reads a module built here with a local replacement', async (context) => {
      if (!hasGo()) {
        context.skip('the go command is not installed');

        return;
      }

      const folder = mkdtempSync(join(tmpdir(), 'wharf-go-collector-'));

      try {
        mkdirSync(join(folder, 'app'));
        mkdirSync(join(folder, 'helper'));
        writeFileSync(join(folder, 'helper/go.mod'), 'module example.com/helper\n\ngo 1.18\n');
        writeFileSync(
          join(folder, 'helper/helper.go'),
          'package helper\n\nfunc Greeting() string { return "hi" }\n',
        );
        writeFileSync(
          join(folder, 'app/go.mod'),
          'module example.com/app\n\ngo 1.18\n\nrequire example.com/helper v1.2.3\n\nreplace example.com/helper => ../helper\n',
        );
        writeFileSync(
          join(folder, 'app/main.go'),
          'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/helper"\n)\n\nfunc main() { fmt.Println(helper.Greeting()) }\n',
        );

        const build = spawnSync('go', ['build', '-o', join(folder, 'app.bin'), '.'], {
          cwd: join(folder, 'app'),
          encoding: 'utf8',
          timeout: 300_000,
          env: {
            ...process.env,
            GOCACHE: join(folder, 'cache'),
            GOPATH: join(folder, 'gopath'),
            GOPROXY: 'off',
            GOFLAGS: '-mod=mod',
            GOTOOLCHAIN: 'local',
          },
        });

        assert.equal(build.status, 0, build.stderr);

        const { packages, warnings } = await collectFile(join(folder, 'app.bin'));

        assert.deepEqual(warnings, []);
        assert.deepEqual(nameVersions(packages), packagesByGoVersion(join(folder, 'app.bin')));
        assert.ok(nameVersions(packages).includes('example.com/helper@v1.2.3'));
        assert.ok(
          !packages.some((entry) => entry.name === 'example.com/app'),
          'the (devel) main module is skipped',
        );
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  });
});
