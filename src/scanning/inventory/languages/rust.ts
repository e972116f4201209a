import type { FileCollector, FileFindings, FoundPackage, LayerFile } from '../inventory.js';
import { languagePurl } from '../purl.js';
import { readLayerText } from '../read-bounded.js';

/**
 * Collects crates from `Cargo.lock`. Only the TOML that Cargo writes there is parsed: `[[package]]`
 * tables of `key = "string"` lines, string arrays (`dependencies`, possibly over several lines), other
 * tables such as `[metadata]` of old lockfiles (skipped), comments and a top-level `version = 3`.
 * A package without `source` is a member of the locked workspace, the application itself, and is
 * skipped. Crates from git and from other registries are kept.
 */
export function rustCollector(): FileCollector {
  return {
    name: 'rust',
    wants: (path) => path === 'Cargo.lock' || path.endsWith('/Cargo.lock'),
    collect: (file, maxBytes) => collectRust(file, maxBytes),
  };
}

async function collectRust(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const read = await readLayerText(file, maxBytes);

  if ('warning' in read) {
    return { packages: [], warnings: [read.warning] };
  }

  return readCargoLock(read.text, file.path);
}

/** A `key = value` line; the key is bare or quoted, as in the `[metadata]` table of old lockfiles. */
const keyValuePattern = /^([A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")\s*=\s*(.*)$/;

const tableHeaderPattern = /^\[\[?\s*[^\]]+\]\]?\s*(?:#.*)?$/;

/**
 * Reads the packages of a Cargo.lock. A line that is not of the subset above stops the reading with
 * a warning that names the line, and the packages before it are kept.
 */
export function readCargoLock(text: string, path: string): FileFindings {
  const packages: FoundPackage[] = [];
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  let table: Map<string, string> | undefined;
  let inArray = false;

  const closeTable = (): void => {
    if (table !== undefined) {
      addPackage(table, path, packages, warnings);
    }

    table = undefined;
  };

  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();

    if (inArray) {
      inArray = !closesArray(line);
      continue;
    }

    if (line === '' || line.startsWith('#')) {
      continue;
    }

    if (line === '[[package]]') {
      closeTable();
      table = new Map();
      continue;
    }

    if (tableHeaderPattern.test(line)) {
      closeTable();
      continue;
    }

    const problem = readKeyValue(line, table, (open) => (inArray = open));

    if (problem !== undefined) {
      warnings.push(`${path}: line ${index + 1} ${problem}; the lines after it were not read`);
      table = undefined;
      break;
    }
  }

  closeTable();

  return { packages, warnings };
}

/**
 * Reads one `key = value` line into `table` (when inside a package), or returns why it cannot.
 * Calls `setArrayOpen(true)` when an array continues on the following lines.
 */
function readKeyValue(
  line: string,
  table: Map<string, string> | undefined,
  setArrayOpen: (open: boolean) => void,
): string | undefined {
  const match = keyValuePattern.exec(line);

  if (match === null) {
    return 'is not a table header or a key = value pair';
  }

  const [, key, value] = match;

  if (value.startsWith('"')) {
    const parsed = parseBasicString(value);

    if (parsed === undefined) {
      return 'has an unterminated or invalid string';
    }

    table?.set(key, parsed);
  } else if (value.startsWith("'")) {
    const end = value.indexOf("'", 1);

    if (end < 0) {
      return 'has an unterminated string';
    }

    table?.set(key, value.slice(1, end));
  } else if (value.startsWith('[')) {
    setArrayOpen(!closesArray(value.slice(1)));
  } else if (!/^[\w.+-]+\s*(?:#.*)?$/.test(value)) {
    return 'has a value that is not a string, array, number or boolean';
  }

  return undefined;
}

/** Returns true when `text` closes the array it continues, skipping brackets inside strings. */
function closesArray(text: string): boolean {
  let quote: string | undefined;

  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];

    if (quote !== undefined) {
      if (character === '\\' && quote === '"') {
        index += 1;
      } else if (character === quote) {
        quote = undefined;
      }
    } else if (character === '"' || character === "'") {
      quote = character;
    } else if (character === '#') {
      return false;
    } else if (character === ']') {
      return true;
    }
  }

  return false;
}

const escapes: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };

/** Parses a TOML basic string that starts `text`, or returns undefined when it is malformed. */
function parseBasicString(text: string): string | undefined {
  let result = '';

  for (let index = 1; index < text.length; index += 1) {
    const character = text[index];

    if (character === '"') {
      const rest = text.slice(index + 1).trim();

      return rest === '' || rest.startsWith('#') ? result : undefined;
    }

    if (character !== '\\') {
      result += character;
      continue;
    }

    const escape = text[index + 1] ?? '';
    const unicode = /^u([0-9A-Fa-f]{4})|^U([0-9A-Fa-f]{8})/.exec(text.slice(index + 1));

    const codePoint = unicode === null ? undefined : Number.parseInt(unicode[1] ?? unicode[2], 16);

    if (unicode !== null && codePoint !== undefined && codePoint <= 0x10ffff) {
      result += String.fromCodePoint(codePoint);
      index += unicode[0].length;
    } else if (unicode === null && Object.hasOwn(escapes, escape)) {
      result += escapes[escape];
      index += 1;
    } else {
      return undefined;
    }
  }

  return undefined;
}

function addPackage(
  table: Map<string, string>,
  path: string,
  packages: FoundPackage[],
  warnings: string[],
): void {
  const name = table.get('name');
  const version = table.get('version');

  if (name === undefined || name === '' || version === undefined || version === '') {
    warnings.push(`${path}: a [[package]] table has no name or no version`);

    return;
  }

  if (table.get('source') === undefined) {
    return;
  }

  packages.push({ type: 'cargo', name, version, purl: languagePurl('cargo', name, version) });
}
