/** A package as a vulnerability record names it: its OSV ecosystem and its name. */
export interface PackageKey {
  /** The ecosystem as OSV writes it, such as `Debian:12`, `Alpine:v3.19` or `npm`. */
  ecosystem: string;
  name: string;
}

/**
 * Returns the name under which a package is stored and looked up, so that a record and an image that
 * spell one package differently still meet. PyPI names follow PEP 503: lowercase, with each run of
 * `-`, `_` and `.` made one `-`, so `Jinja2`, `jinja2` and `Zope.Interface`/`zope_interface` match.
 * Names of other ecosystems are compared as written, because their package managers treat them so.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  // A suffix after `:` names a release or variant and does not change how names compare.
  if (ecosystem.split(':')[0] === 'PyPI') {
    return name.toLowerCase().replace(/[-_.]+/g, '-');
  }

  return name;
}

/** Returns the key with its name normalized by `normalizePackageName`. */
export function normalizePackageKey(key: PackageKey): PackageKey {
  return { ecosystem: key.ecosystem, name: normalizePackageName(key.ecosystem, key.name) };
}
