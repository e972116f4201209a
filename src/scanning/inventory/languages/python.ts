import type { FileCollector, FileFindings, LayerFile } from '../inventory.js';
import { languagePurl } from '../purl.js';
import { readLayerText } from '../read-bounded.js';

/**
 * Core metadata files of installed distributions: `*.dist-info/METADATA` (wheels, pip), and
 * `*.egg-info/PKG-INFO` or a plain `*.egg-info` file (setuptools and distutils; Debian's
 * `dist-packages` has both forms).
 */
const metadataPattern = /\.dist-info\/METADATA$|\.egg-info\/PKG-INFO$|\.egg-info$/;

/**
 * Collects Python distributions from their core metadata. The header block, in the style of RFC 822,
 * ends at the first empty line, and the description that follows is not read. A line that starts with
 * white space continues the header before it, even when it holds nothing else, so a multi-line
 * `License` stays one field. The name is kept as written, and the package URL normalizes it.
 */
export function pythonCollector(): FileCollector {
  return {
    name: 'python',
    wants: (path) => metadataPattern.test(path),
    collect: (file, maxBytes) => collectPython(file, maxBytes),
  };
}

async function collectPython(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const read = await readLayerText(file, maxBytes);

  if ('warning' in read) {
    return { packages: [], warnings: [read.warning] };
  }

  return readCoreMetadata(read.text, file.path);
}

/** Reads the `Name`, `Version` and license of one core metadata file. */
export function readCoreMetadata(text: string, path: string): FileFindings {
  const headers = readHeaders(text);
  const name = headers.get('name')?.trim();
  const version = headers.get('version')?.trim();

  if (name === undefined || name === '' || version === undefined || version === '') {
    return { packages: [], warnings: [`${path}: no Name or no Version header`] };
  }

  const licenses = licensesOf(headers);

  return {
    packages: [
      {
        type: 'pypi',
        name,
        version,
        purl: languagePurl('pypi', name, version),
        ...(licenses === undefined ? {} : { licenses }),
      },
    ],
    warnings: [],
  };
}

/**
 * Returns the license: `License-Expression` (metadata 2.4) when present, else `License` when it is
 * one line other than `UNKNOWN`. Many packages put their whole license text into `License`, which
 * names no license in a form an SBOM can use, so a multi-line value is left out.
 */
function licensesOf(headers: Map<string, string>): string[] | undefined {
  const expression = headers.get('license-expression')?.trim();

  if (expression !== undefined && expression !== '') {
    return [expression];
  }

  const license = headers.get('license')?.trim();

  if (license === undefined || license === '' || license === 'UNKNOWN' || license.includes('\n')) {
    return undefined;
  }

  return [license];
}

/** Reads the header block into lower-cased names and values; the first occurrence of a name wins. */
function readHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  let current: string | undefined;

  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;

    if (line === '') {
      break;
    }

    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current !== undefined && headers.has(current)) {
        headers.set(current, `${headers.get(current) ?? ''}\n${line.trim()}`);
      }

      continue;
    }

    const colon = line.indexOf(':');

    current = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : undefined;

    if (current !== undefined && !headers.has(current)) {
      headers.set(current, line.slice(colon + 1).trim());
    } else {
      // A repeated header (Classifier, Requires-Dist) keeps its first value; its continuation lines are dropped.
      current = undefined;
    }
  }

  return headers;
}
