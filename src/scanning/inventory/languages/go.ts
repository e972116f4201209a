import type { FileCollector, FileFindings, FoundPackage, LayerFile } from '../inventory.js';
import { languagePurl } from '../purl.js';
import { errorMessage, readChunks } from '../read-bounded.js';

/**
 * Smallest file searched for Go build info. A go1.19.8 program for linux/amd64 that only calls
 * `println`, built with `-ldflags='-s -w'`, is 768 KiB, so smaller executables (scripts, most C
 * programs) are not read at all.
 */
export const minGoBinaryBytes = 512 * 1024;

/** The 14 bytes that open the `.go.buildinfo` section. */
const buildInfoMagic = Buffer.from('\xff Go buildinf:', 'latin1');

/** Size of the build info header: the magic, the pointer size, the flags and padding. */
const headerBytes = 32;

/**
 * The section is 16-byte aligned, and ELF keeps file offsets congruent to addresses modulo the page
 * size, so a magic at another offset is other data.
 */
const buildInfoAlignment = 16;

/** Flags bit set since Go 1.18, when the version and module strings follow the header inline. */
const inlineStringsFlag = 0x2;

/** Each end of the module info string carries 16 bytes of marker that are not text. */
const moduleInfoMarkerBytes = 16;

const javaArchivePattern = /\.(?:jar|war|ear)$/i;

const elfMagic = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/**
 * Collects the Go toolchain and modules from the build info of Go executables (Go 1.18 and later).
 * The file is streamed: only a carry-over of 13 bytes between chunks is kept while searching, and
 * the build info itself once found, at most `maxBytes` of it. A file that is not ELF, or has no build
 * info, yields nothing and no warning, because most executables of an image are not Go programs.
 *
 * Output: the standard library as `stdlib` (version `go1.21.3` becomes `1.21.3`, as OSV's Go
 * ecosystem names it), the main module unless its version is `(devel)` (a build from a source tree,
 * which no advisory can name), and every dependency. A `=>` replacement by another module version
 * replaces the module before it. A replacement by a local directory has no version, so the
 * original module and version are kept (Kubernetes builds record `k8s.io/api v0.0.0` this way),
 * which can over-report but never hides a module.
 */
export function goCollector(): FileCollector {
  return {
    name: 'go',
    // Executable Java archives are left to the Java collector.
    wants: (path, size, mode) =>
      (mode & 0o111) !== 0 && size >= minGoBinaryBytes && !javaArchivePattern.test(path),
    collect: (file, maxBytes) => collectGo(file, maxBytes),
  };
}

async function collectGo(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const scanner = new BuildInfoScanner(maxBytes);

  try {
    await readChunks(file.content, (chunk) => scanner.push(chunk));
  } catch (error) {
    return { packages: [], warnings: [`${file.path}: failed to read the file: ${errorMessage(error)}`] };
  }

  const outcome = scanner.finish();

  switch (outcome.kind) {
    case 'none':
      return { packages: [], warnings: [] };
    case 'problem':
      return { packages: [], warnings: [`${file.path}: ${outcome.reason}`] };
    case 'found':
      return { packages: modulesOf(outcome.goVersion, outcome.moduleInfo), warnings: [] };
  }
}

/** The result of searching one file for build info. */
export type BuildInfoOutcome =
  | { kind: 'none' }
  | { kind: 'problem'; reason: string }
  | { kind: 'found'; goVersion: string; moduleInfo: string };

/**
 * Finds and reads the build info in a stream of chunks. `push` returns `stop` once the outcome is
 * known, so the rest of a large binary is not read.
 */
export class BuildInfoScanner {
  /** Bytes kept from earlier chunks: a possible start of the magic, or the build info read so far. */
  private pending: Buffer = Buffer.alloc(0);
  /** File offset of `pending[0]`. */
  private pendingOffset = 0;
  private state: 'elf' | 'search' | 'read' = 'elf';
  private outcome: BuildInfoOutcome | undefined;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): 'stop' | 'more' {
    if (this.outcome !== undefined) {
      return 'stop';
    }

    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.outcome = this.advance();

    return this.outcome === undefined ? 'more' : 'stop';
  }

  finish(): BuildInfoOutcome {
    if (this.outcome !== undefined) {
      return this.outcome;
    }

    if (this.state === 'read') {
      return { kind: 'problem', reason: 'the Go build info is truncated' };
    }

    return { kind: 'none' };
  }

  /** Moves through the states as far as the pending bytes allow, and returns the outcome once known. */
  private advance(): BuildInfoOutcome | undefined {
    for (;;) {
      switch (this.state) {
        case 'elf':
          if (this.pending.length < elfMagic.length) {
            return undefined;
          }

          if (!this.pending.subarray(0, elfMagic.length).equals(elfMagic)) {
            return { kind: 'none' };
          }

          this.state = 'search';
          break;
        case 'search':
          if (!this.findMagic()) {
            return undefined;
          }

          this.state = 'read';
          break;
        case 'read': {
          const result = this.readBuildInfo();

          if (result !== 'retry') {
            return result;
          }

          // Not a real header: search again from the next byte.
          this.drop(1);
          this.state = 'search';
          break;
        }
      }
    }
  }

  /** Moves `pending` to the next aligned magic and returns true, or keeps only a possible partial magic. */
  private findMagic(): boolean {
    let from = 0;

    for (;;) {
      const index = this.pending.indexOf(buildInfoMagic, from);

      if (index < 0) {
        break;
      }

      if ((this.pendingOffset + index) % buildInfoAlignment === 0) {
        this.drop(index);

        return true;
      }

      from = index + 1;
    }

    this.drop(Math.max(0, this.pending.length - (buildInfoMagic.length - 1)));

    return false;
  }

  /**
   * Reads the header and the two strings after it, or returns `undefined` while more bytes are
   * needed and `retry` when the bytes after the magic are no build info header.
   */
  private readBuildInfo(): BuildInfoOutcome | 'retry' | undefined {
    if (this.pending.length < headerBytes) {
      return undefined;
    }

    const pointerSize = this.pending[buildInfoMagic.length];
    const flags = this.pending[buildInfoMagic.length + 1];

    if ((pointerSize !== 4 && pointerSize !== 8) || (flags & ~0x3) !== 0) {
      return 'retry';
    }

    if ((flags & inlineStringsFlag) === 0) {
      return { kind: 'problem', reason: 'Go build info before Go 1.18 is not read' };
    }

    if (!this.pending.subarray(buildInfoMagic.length + 2, headerBytes).every((byte) => byte === 0)) {
      return 'retry';
    }

    const version = readLengthPrefixed(this.pending, headerBytes);
    const moduleInfo =
      version === undefined || version === 'invalid'
        ? undefined
        : readLengthPrefixed(this.pending, version.end);

    if (version === 'invalid' || moduleInfo === 'invalid') {
      return { kind: 'problem', reason: 'the Go build info has an invalid string length' };
    }

    if (version !== undefined && moduleInfo !== undefined) {
      return {
        kind: 'found',
        goVersion: version.bytes.toString('utf8'),
        moduleInfo: stripModuleInfoMarkers(moduleInfo.bytes),
      };
    }

    if (this.pending.length > this.maxBytes) {
      return {
        kind: 'problem',
        reason: `the Go build info is larger than the limit of ${this.maxBytes} bytes and was not read`,
      };
    }

    return undefined;
  }

  private drop(count: number): void {
    this.pending = this.pending.subarray(count);
    this.pendingOffset += count;
  }
}

/**
 * Reads an unsigned varint length and that many bytes from `offset`. Returns `undefined` when the
 * buffer ends first, and `invalid` for a varint longer than a safe integer allows.
 */
function readLengthPrefixed(
  buffer: Buffer,
  offset: number,
): { bytes: Buffer; end: number } | 'invalid' | undefined {
  let length = 0;
  let position = offset;

  for (let shift = 0; ; shift += 7) {
    if (shift > 49) {
      return 'invalid';
    }

    if (position >= buffer.length) {
      return undefined;
    }

    const byte = buffer[position];

    position += 1;
    length += (byte & 0x7f) * 2 ** shift;

    if (byte < 0x80) {
      break;
    }
  }

  if (position + length > buffer.length) {
    return undefined;
  }

  return { bytes: buffer.subarray(position, position + length), end: position + length };
}

/**
 * Removes the 16-byte markers around the module info and decodes the text between them. The text
 * ends with a newline, so a string without one before the closing marker contains no modules.
 */
function stripModuleInfoMarkers(raw: Buffer): string {
  if (raw.length <= 2 * moduleInfoMarkerBytes || raw[raw.length - moduleInfoMarkerBytes - 1] !== 0x0a) {
    return '';
  }

  return raw.toString('utf8', moduleInfoMarkerBytes, raw.length - moduleInfoMarkerBytes);
}

/**
 * Turns the Go version and the module info lines (`path`, `mod`, `dep`, `=>`, `build`; fields
 * separated by tabs) into packages.
 */
export function modulesOf(goVersion: string, moduleInfo: string): FoundPackage[] {
  const modules: { path: string; version: string }[] = [];

  for (const line of moduleInfo.split('\n')) {
    const [kind, path, version] = line.split('\t');

    if ((kind === 'mod' || kind === 'dep') && path !== undefined && path !== '') {
      modules.push({ path, version: version ?? '' });
    }

    const replaced = modules.at(-1);

    if (kind === '=>' && replaced !== undefined && path !== undefined && isModuleVersion(path, version)) {
      replaced.path = path;
      replaced.version = version;
    }
  }

  const packages = modules
    .filter((module) => module.version !== '' && module.version !== '(devel)')
    .map((module) => goPackage(module.path, module.version));
  const toolchain = /^go(\d+(?:\.\d+)*\S*)/.exec(goVersion.trim());

  return toolchain === null ? packages : [goPackage('stdlib', toolchain[1]), ...packages];
}

/**
 * Tells a replacement by another module version from one by a local directory, which Go records
 * with a relative or absolute path and an empty or `(devel)` version.
 */
function isModuleVersion(path: string, version: string | undefined): version is string {
  const local = path.startsWith('./') || path.startsWith('../') || path.startsWith('/');

  return !local && version !== undefined && version !== '' && version !== '(devel)';
}

function goPackage(name: string, version: string): FoundPackage {
  return { type: 'golang', name, version, purl: languagePurl('golang', name, version) };
}
