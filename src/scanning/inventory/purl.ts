import type { PackageType } from './inventory.js';

/** The package types of language ecosystems, each also the type of its package URL. */
export type LanguagePackageType = Extract<PackageType, 'npm' | 'pypi' | 'golang' | 'maven' | 'cargo'>;

/**
 * Percent-encodes one segment of a package URL. Only ASCII letters, digits and `.-_~` stay as they
 * are, so a scope's `@`, a Go version's `+incompatible` and a Maven name's spaces survive parsing.
 */
export function encodePurlSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Returns the package URL of a language package, following the purl specification's type rules:
 * - npm: a scope is the namespace, as in `pkg:npm/%40babel/core@7.24.0`.
 * - pypi: the name is lowercased and `_` becomes `-`, as in `pkg:pypi/typing-extensions@4.4.0`.
 * - golang: the module path up to its last `/` is the namespace, as in
 *   `pkg:golang/github.com/x/y@v1.2.3`; the standard library is `pkg:golang/stdlib@1.21.3`.
 * - maven: the name is `groupId:artifactId`, as in `pkg:maven/org.slf4j/slf4j-api@1.7.32`.
 * - cargo: the crate name, as in `pkg:cargo/rand@0.8.3`.
 *
 * NOTE: the purl type notes ask for lowercased Go namespaces and names, but Go module paths are
 * case-sensitive (the module proxy escapes capitals), so the path keeps its case here.
 */
export function languagePurl(type: LanguagePackageType, name: string, version: string): string {
  const [namespace, shortName] = splitName(type, name);
  const prefix = namespace === undefined ? '' : `${namespace}/`;

  return `pkg:${type}/${prefix}${encodePurlSegment(shortName)}@${encodePurlSegment(version)}`;
}

/** Splits a package name into its encoded purl namespace (if any) and its unencoded name. */
function splitName(type: LanguagePackageType, name: string): [string | undefined, string] {
  switch (type) {
    case 'npm': {
      const slash = name.indexOf('/');

      if (name.startsWith('@') && slash > 0) {
        return [encodePurlSegment(name.slice(0, slash)), name.slice(slash + 1)];
      }

      return [undefined, name];
    }
    case 'pypi':
      return [undefined, name.toLowerCase().replaceAll('_', '-')];
    case 'golang': {
      const segments = name.split('/');
      const last = segments.pop() ?? name;

      if (segments.length === 0) {
        return [undefined, last];
      }

      return [segments.map(encodePurlSegment).join('/'), last];
    }
    case 'maven': {
      const colon = name.indexOf(':');

      if (colon > 0) {
        return [encodePurlSegment(name.slice(0, colon)), name.slice(colon + 1)];
      }

      return [undefined, name];
    }
    case 'cargo':
      return [undefined, name];
  }
}
