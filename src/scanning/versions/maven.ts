import { compareDigits, compareText, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** Qualifiers in release order; `''` is the release itself, to which `ga`, `final` and `release` are equal. */
const knownQualifiers = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const qualifierAliases: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
/** Single letters that stand for a qualifier when a number follows, as in `1.0-a1`. */
const letterQualifiers: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone' };

/** One item of a parsed version: a number, a qualifier, or a list that a `-` or a digit-letter change opens. */
type Item =
  { kind: 'number'; value: string } | { kind: 'qualifier'; value: string } | { kind: 'list'; items: Item[] };

/**
 * Maven artifact versions, ordered as Maven's version order specification describes. The version is
 * split at `.`, at `-` and where digits and letters meet. A `-` or a change between digits and
 * letters opens a nested list. Trailing "null" items (0, the empty qualifier, `ga`, `final`,
 * `release`) are dropped from each list. Numbers compare as numbers and sort after qualifiers and
 * lists; qualifiers sort `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` < release < `sp`,
 * then any other qualifier in alphabetical order.
 */
export const mavenVersions: VersionScheme = {
  name: 'Maven',
  compare(a: string, b: string): number {
    return compareItems(parse(a), parse(b));
  },
};

function parse(text: string): Item {
  const version = text.trim().toLowerCase();

  if (version === '' || /\s/.test(version)) {
    throw new InvalidVersionError('Maven', text, 'it is empty or contains white space');
  }

  const root: Item[] = [];
  const lists: Item[][] = [root];
  let list = root;
  let start = 0;
  let digits = false;

  const openList = (): void => {
    const nested: Item[] = [];

    list.push({ kind: 'list', items: nested });
    lists.push(nested);
    list = nested;
  };

  for (let index = 0; index < version.length; index++) {
    const character = version[index];
    const isDigit = character >= '0' && character <= '9';

    if (character === '.' || character === '-') {
      list.push(
        index === start ? { kind: 'number', value: '0' } : item(version.slice(start, index), digits, false),
      );
      start = index + 1;

      if (character === '-') {
        openList();
      }
    } else if (isDigit !== digits && index > start) {
      // A change between letters and digits ends an item and opens a list.
      list.push(item(version.slice(start, index), digits, isDigit));
      start = index;
      openList();
    }

    if (character !== '.' && character !== '-') {
      digits = isDigit;
    }
  }

  if (version.length > start) {
    list.push(item(version.slice(start), digits, false));
  }

  // Innermost lists first, so that a list emptied by trimming counts as null in its parent.
  for (const items of lists.reverse()) {
    trimNulls(items);
  }

  return { kind: 'list', items: root };
}

function item(text: string, digits: boolean, followedByDigit: boolean): Item {
  if (digits) {
    return { kind: 'number', value: text };
  }

  const expanded = followedByDigit && text.length === 1 ? (letterQualifiers[text] ?? text) : text;

  return { kind: 'qualifier', value: qualifierAliases[expanded] ?? expanded };
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'number':
      return /^0+$/.test(item.value);
    case 'qualifier':
      return item.value === '';
    case 'list':
      return item.items.length === 0;
  }
}

/** Drops null items from the end of a list, looking past nested lists as Maven does. */
function trimNulls(items: Item[]): void {
  for (let index = items.length - 1; index >= 0; index--) {
    if (isNull(items[index])) {
      items.splice(index, 1);
    } else if (items[index].kind !== 'list') {
      break;
    }
  }
}

/** Orders a qualifier: known ones by their place, unknown ones after them, alphabetically. */
function qualifierKey(value: string): string {
  const known = knownQualifiers.indexOf(value);

  return known === -1 ? `${knownQualifiers.length}-${value}` : String(known);
}

/** Compares an item with a missing one, which stands for the release. */
function compareWithNothing(item: Item): number {
  switch (item.kind) {
    case 'number':
      return isNull(item) ? 0 : 1;
    case 'qualifier':
      return compareText(qualifierKey(item.value), qualifierKey(''));
    case 'list':
      return item.items.length === 0 ? 0 : compareWithNothing(item.items[0]);
  }
}

function compareItems(a: Item | undefined, b: Item | undefined): number {
  if (a === undefined && b === undefined) {
    return 0;
  }

  if (a === undefined) {
    return -compareWithNothing(b as Item);
  }

  if (b === undefined) {
    return compareWithNothing(a);
  }

  if (a.kind !== b.kind) {
    // Numbers sort after lists, and lists after qualifiers.
    const rank = { qualifier: 0, list: 1, number: 2 };

    return rank[a.kind] - rank[b.kind];
  }

  if (a.kind === 'number' && b.kind === 'number') {
    return compareDigits(a.value, b.value);
  }

  if (a.kind === 'qualifier' && b.kind === 'qualifier') {
    return compareText(qualifierKey(a.value), qualifierKey(b.value));
  }

  const left = a.kind === 'list' ? a.items : [];
  const right = b.kind === 'list' ? b.items : [];

  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = compareItems(left[index], right[index]);

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}
