import { apkVersions } from './apk.js';
import { dpkgVersions } from './dpkg.js';
import { mavenVersions } from './maven.js';
import { pep440Versions } from './pep440.js';
import { rpmVersions } from './rpm.js';
import { semverVersions } from './semver.js';
import type { VersionScheme } from './version-scheme.js';

export { InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** The version scheme of each OSV ecosystem that Wharf compares versions for. */
const schemesByEcosystem: Record<string, VersionScheme> = {
  Debian: dpkgVersions,
  Ubuntu: dpkgVersions,
  Alpine: apkVersions,
  'Red Hat': rpmVersions,
  'Rocky Linux': rpmVersions,
  AlmaLinux: rpmVersions,
  openSUSE: rpmVersions,
  SUSE: rpmVersions,
  npm: semverVersions,
  Go: semverVersions,
  'crates.io': semverVersions,
  PyPI: pep440Versions,
  Maven: mavenVersions,
};

/**
 * Returns the version scheme of an OSV ecosystem, such as `Debian:12` or `PyPI`, or undefined for an
 * ecosystem Wharf does not know. The part after `:` names a release and does not change the scheme.
 */
export function versionSchemeFor(ecosystem: string): VersionScheme | undefined {
  return schemesByEcosystem[ecosystem.split(':')[0]];
}
