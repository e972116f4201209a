import { useMemo, useState } from 'preact/hooks';

import {
  getVulnerabilities,
  sbomHref,
  severityLevels,
  startScan,
  type Finding,
  type ImageScan,
  type ImageVulnerabilities,
  type ScanStatus,
  type Severity,
} from '../api';
import { RelativeTime } from '../components/RelativeTime';
import { SeverityBadge, severityClass, severityRank } from '../components/SeverityBadge';
import { EmptyState, messageOf, Pending } from '../components/states';
import { formatBytes, formatCount, formatPlatform, shortDigest } from '../format';
import { useInterval, useResource } from '../hooks';
import { useAnnounce } from '../session';

/** How often the tab reads the scan state again while a scan is queued or running, in milliseconds. */
const pollPeriod = 1500;
const runningStatuses: ReadonlySet<ScanStatus> = new Set(['queued', 'scanning', 'matching']);

const statusLabels: Record<ScanStatus, string> = {
  'not-scanned': 'Not scanned',
  queued: 'Queued',
  scanning: 'Reading layers',
  matching: 'Matching packages',
  done: 'Scanned',
  failed: 'Scan failed',
  skipped: 'Not a container image',
};

/**
 * Renders the Vulnerabilities tab of the image page: the scan of the image or of each image of an index,
 * and the findings with a severity filter and a search box. While a scan is queued or running, the tab
 * reads the state again every {@link pollPeriod} ms until the scan ends.
 */
export function VulnerabilitiesTab({ repository, digest }: { repository: string; digest: string }) {
  const report = useResource(
    (signal) => getVulnerabilities(repository, digest, signal),
    [repository, digest],
  );
  const running = report.data?.images.some((image) => runningStatuses.has(image.status)) === true;

  useInterval(() => {
    if (running && !report.loading) {
      report.reload();
    }
  }, pollPeriod);

  if (!report.data) {
    return (
      <Pending
        resource={report}
        loading="Loading vulnerabilities…"
        failed="Could not load the vulnerabilities"
      />
    );
  }

  const scanned = report.data.images.some((image) => image.status === 'done');

  return (
    <>
      {report.error && (
        <p class="form-error" role="alert">
          Could not refresh: {messageOf(report.error)}
        </p>
      )}
      <ScanSection report={report.data} running={running} onStarted={report.reload} />
      {(scanned || report.data.findings.length > 0) && <FindingsSection report={report.data} />}
    </>
  );
}

/** Tells an index, whose images are its children, from an image, which is its own only entry. */
function isIndexReport(report: ImageVulnerabilities): boolean {
  return report.images.length !== 1 || report.images[0].digest !== report.digest;
}

function ScanSection({
  report,
  running,
  onStarted,
}: {
  report: ImageVulnerabilities;
  running: boolean;
  onStarted: () => void;
}) {
  const scanButton = (label: string) => (
    <ScanButton
      repository={report.repository}
      digest={report.digest}
      label={label}
      disabled={running}
      onStarted={onStarted}
    />
  );

  if (report.images.length === 0) {
    return <p class="muted">This index lists no images, so there is nothing to scan.</p>;
  }

  if (report.images.every((image) => image.status === 'not-scanned')) {
    return (
      <EmptyState title="Not scanned yet">
        <p>
          Wharf scans images when they are pushed or pulled through the cache, and again when the
          vulnerability database changes. This {isIndexReport(report) ? 'index' : 'image'} has no scan yet,
          for example because it was stored while scanning was turned off.
        </p>
        {scanButton('Scan now')}
      </EmptyState>
    );
  }

  return (
    <section aria-labelledby="scan-title">
      <div class="section-header">
        <h2 id="scan-title">Scan</h2>
        {scanButton('Scan again')}
      </div>
      {isIndexReport(report) ? (
        <ScanTable report={report} />
      ) : (
        <ScanFacts repository={report.repository} image={report.images[0]} />
      )}
      {report.images.map((image) => (
        <ScanNotes key={image.digest} image={image} named={isIndexReport(report)} />
      ))}
    </section>
  );
}

/** Starts a scan of the page's image and shows why the server rejected it, such as scanning being off. */
function ScanButton({
  repository,
  digest,
  label,
  disabled,
  onStarted,
}: {
  repository: string;
  digest: string;
  label: string;
  disabled: boolean;
  onStarted: () => void;
}) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const announce = useAnnounce();

  const start = async (): Promise<void> => {
    setPending(true);
    setError(undefined);

    try {
      await startScan(repository, digest);
      announce(`Scan of ${shortDigest(digest)} queued`);
      onStarted();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setPending(false);
    }
  };

  return (
    <div class="scan-action">
      <button type="button" disabled={disabled || pending} onClick={() => void start()}>
        {label}
      </button>
      {error && (
        <p class="form-error" role="alert">
          {messageOf(error)}
        </p>
      )}
    </div>
  );
}

function ScanFacts({ repository, image }: { repository: string; image: ImageScan }) {
  return (
    <dl class="details">
      <div>
        <dt>Status</dt>
        <dd data-status={image.status}>
          <ScanStatusText image={image} />
        </dd>
      </div>
      <div>
        <dt>Operating system</dt>
        <dd>{operatingSystemName(image) ?? <span class="muted">not found</span>}</dd>
      </div>
      <div>
        <dt>Packages</dt>
        <dd data-value={image.packageCount}>{formatCount(image.packageCount)}</dd>
      </div>
      <div>
        <dt>Vulnerability database</dt>
        <dd>
          {image.databaseGeneration === null ? (
            <span class="muted">—</span>
          ) : (
            `generation ${image.databaseGeneration}`
          )}
        </dd>
      </div>
      {hasInventory(image) && (
        <div>
          <dt>SBOM</dt>
          <dd>
            <SbomLinks repository={repository} image={image} />
          </dd>
        </div>
      )}
    </dl>
  );
}

function ScanTable({ report }: { report: ImageVulnerabilities }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Scans of the platforms">
      <table class="table table-stack">
        <thead>
          <tr>
            <th scope="col">Platform</th>
            <th scope="col">Status</th>
            <th scope="col">Operating system</th>
            <th scope="col" class="numeric">
              Packages
            </th>
            <th scope="col">SBOM</th>
          </tr>
        </thead>
        <tbody>
          {report.images.map((image) => (
            <tr key={image.digest}>
              <td class="name-cell">{imageName(image)}</td>
              <td data-label="Status" data-status={image.status}>
                <ScanStatusText image={image} />
              </td>
              <td data-label="Operating system">
                {operatingSystemName(image) ?? <span class="muted">—</span>}
              </td>
              <td class="numeric" data-label="Packages" data-value={image.packageCount}>
                {formatCount(image.packageCount)}
              </td>
              <td data-label="SBOM">
                {hasInventory(image) ? (
                  <SbomLinks repository={report.repository} image={image} />
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ScanStatusText({ image }: { image: ImageScan }) {
  if (image.status === 'done' && image.scannedAt !== null) {
    return (
      <span>
        Scanned <RelativeTime value={image.scannedAt} />
      </span>
    );
  }

  return <span>{statusLabels[image.status]}</span>;
}

/** Shows what a scan is doing, why it failed, and what it could not read. */
function ScanNotes({ image, named }: { image: ImageScan; named: boolean }) {
  const name = named ? ` of ${imageName(image)}` : '';

  return (
    <>
      {runningStatuses.has(image.status) && <ScanProgressBar image={image} name={name} />}
      {image.status === 'failed' && (
        <div class="state state-error scan-failure" role="alert">
          <p class="state-title">The scan{name} failed</p>
          <p>{image.error ?? 'The server gave no reason.'}</p>
        </div>
      )}
      {image.status === 'skipped' && (
        <p class="muted">
          This manifest{name} is not a container image but an artifact, such as an SBOM or a signature, so
          there is nothing to scan.
        </p>
      )}
      {image.warnings.length > 0 && (
        <details class="warning scan-warnings" open={image.status === 'failed'}>
          <summary>
            {formatCount(image.warnings.length)} {image.warnings.length === 1 ? 'warning' : 'warnings'}
            {name}: parts of the image could not be read or judged, so findings may be missing
          </summary>
          <ul>
            {image.warnings.map((warning, index) => (
              <li key={index}>
                <code class="wrap">{warning}</code>
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function ScanProgressBar({ image, name }: { image: ImageScan; name: string }) {
  const progress = image.progress;
  const reading = image.status === 'scanning' && progress !== null && progress.bytes > 0;
  let text = `Matching the packages${name} against the vulnerability database…`;

  if (image.status === 'queued') {
    text = `The scan${name} is queued…`;
  } else if (image.status === 'scanning') {
    text =
      progress === null || progress.layers === 0
        ? `Reading the layers${name}…`
        : `Reading layer ${Math.min(progress.layersRead + 1, progress.layers)} of ${progress.layers}${name}: ` +
          `${formatBytes(progress.bytesRead)} of ${formatBytes(progress.bytes)}`;
  }

  return (
    <div class="scan-progress">
      <span>{text}</span>
      {reading ? (
        <progress aria-label={`Scan progress${name}`} max={progress.bytes} value={progress.bytesRead} />
      ) : (
        <progress aria-label={`Scan progress${name}`} />
      )}
    </div>
  );
}

function SbomLinks({ repository, image }: { repository: string; image: ImageScan }) {
  const stem = `sbom-${image.digest.replace(':', '-').slice(0, 19)}`;

  return (
    <span class="sbom-links">
      <a href={sbomHref(repository, image.digest, 'spdx')} download={`${stem}.spdx.json`}>
        SPDX 2.3
      </a>
      <a href={sbomHref(repository, image.digest, 'cyclonedx')} download={`${stem}.cdx.json`}>
        CycloneDX 1.5
      </a>
    </span>
  );
}

/** Tells whether the server stores the image's package list, from which it builds the SBOM. */
function hasInventory(image: ImageScan): boolean {
  return image.status === 'done' || image.packageCount > 0;
}

function imageName(image: ImageScan): string {
  return image.platform ? formatPlatform(image.platform) : shortDigest(image.digest);
}

function operatingSystemName(image: ImageScan): string | null {
  if (image.os === null) {
    return null;
  }

  return image.os.prettyName ?? [image.os.id, image.os.versionId].filter(Boolean).join(' ');
}

function FindingsSection({ report }: { report: ImageVulnerabilities }) {
  return (
    <section aria-labelledby="findings-title">
      <h2 id="findings-title">
        Findings <span class="count">{formatCount(report.findings.length)}</span>
      </h2>
      {report.findings.length === 0 ? <NoFindings report={report} /> : <FindingsBrowser report={report} />}
    </section>
  );
}

/** Explains a clean result, which is true only for the advisories that the database had at scan time. */
function NoFindings({ report }: { report: ImageVulnerabilities }) {
  const done = report.images.filter((image) => image.status === 'done');
  const packages = done.reduce((sum, image) => sum + image.packageCount, 0);
  const generations = [...new Set(done.map((image) => image.databaseGeneration ?? 0))];

  return (
    <EmptyState title="No known vulnerabilities">
      {packages === 0 ? (
        <p>Wharf found no package in this image that it can match against advisories.</p>
      ) : (
        <p>
          None of the {formatCount(packages)} {packages === 1 ? 'package' : 'packages'} matches an advisory in
          the vulnerability database (generation {generations.join(', ')}).
        </p>
      )}
      {generations.includes(0) ? (
        <p class="muted">
          The vulnerability database was empty. An administrator imports OSV records with{' '}
          <code>wharf vulndb import</code>; images are scanned again after each import.
        </p>
      ) : (
        <p class="muted">
          Wharf knows only the advisories imported into its database, and scans images again when an import
          changes it.
        </p>
      )}
    </EmptyState>
  );
}

function FindingsBrowser({ report }: { report: ImageVulnerabilities }) {
  const [selected, setSelected] = useState<ReadonlySet<Severity>>(() => new Set(severityLevels));
  const [search, setSearch] = useState('');
  const sorted = useMemo(() => [...report.findings].sort(compareFindings), [report.findings]);
  const present = severityLevels.filter((level) =>
    report.findings.some((finding) => finding.severity === level),
  );
  const matching = sorted.filter(
    (finding) => selected.has(finding.severity) && matchesSearch(finding, search),
  );

  const toggle = (level: Severity, checked: boolean): void => {
    const next = new Set(selected);

    if (checked) {
      next.add(level);
    } else {
      next.delete(level);
    }

    setSelected(next);
  };

  const showAll = (): void => {
    setSelected(new Set(severityLevels));
    setSearch('');
  };

  return (
    <>
      <SeverityCounts report={report} />
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label class="field field-grow">
          <span>Search vulnerabilities</span>
          <input
            type="search"
            value={search}
            placeholder="Advisory id, alias or package…"
            autoComplete="off"
            spellcheck={false}
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </label>
        <fieldset class="severity-filter">
          <legend>Severity</legend>
          {present.map((level) => (
            <label key={level} class="check">
              <input
                type="checkbox"
                checked={selected.has(level)}
                onChange={(event) => toggle(level, event.currentTarget.checked)}
              />
              {level}
            </label>
          ))}
        </fieldset>
      </form>
      <p class="muted" aria-live="polite">
        Showing {formatCount(matching.length)} of {formatCount(report.findings.length)}{' '}
        {report.findings.length === 1 ? 'finding' : 'findings'}
      </p>
      {matching.length === 0 ? (
        <EmptyState title="No findings match the filter">
          <button type="button" onClick={showAll}>
            Show all findings
          </button>
        </EmptyState>
      ) : (
        <FindingTable report={report} findings={matching} />
      )}
    </>
  );
}

/** Shows the number of findings at each level as a row of badges, and dims the levels without findings. */
function SeverityCounts({ report }: { report: ImageVulnerabilities }) {
  return (
    <dl class="severity-counts" aria-label="Findings by severity">
      {severityLevels.map((level) => (
        <div key={level} class={report.summary.counts[level] === 0 ? 'severity-count-zero' : undefined}>
          <dt>
            <span class={`badge severity ${severityClass(level)}`}>{level}</span>
          </dt>
          <dd data-value={report.summary.counts[level]}>{formatCount(report.summary.counts[level])}</dd>
        </div>
      ))}
    </dl>
  );
}

function FindingTable({ report, findings }: { report: ImageVulnerabilities; findings: Finding[] }) {
  const index = isIndexReport(report);
  const images = new Map(report.images.map((image) => [image.digest, image]));

  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Vulnerability list">
      <table class="table table-stack findings">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Advisory</th>
            <th scope="col">Package</th>
            <th scope="col">Installed</th>
            <th scope="col">Fixed in</th>
            {index && <th scope="col">Platform</th>}
          </tr>
        </thead>
        <tbody>
          {findings.map((finding) => (
            <tr
              key={`${finding.image} ${finding.id} ${finding.package.purl} ${finding.package.location}`}
              data-severity={finding.severity}
            >
              <td data-label="Severity">
                <span>
                  <SeverityBadge severity={finding.severity} />
                  {finding.score !== null && (
                    <span class="muted score" title="CVSS base score">
                      {' '}
                      {finding.score.toFixed(1)}
                    </span>
                  )}
                </span>
              </td>
              <td class="wrap advisory-cell">
                <code class="advisory-id">{finding.id}</code>
                {finding.aliases.length > 0 && <span class="muted"> {finding.aliases.join(', ')}</span>}
                {finding.summary !== '' && <div class="finding-summary">{finding.summary}</div>}
              </td>
              <td data-label="Package">
                <PackageName finding={finding} />
              </td>
              <td data-label="Installed">
                <code>{finding.installedVersion}</code>
              </td>
              <td data-label="Fixed in">
                {finding.fixedVersion === null ? (
                  <span class="muted">no fix</span>
                ) : (
                  <code>{finding.fixedVersion}</code>
                )}
              </td>
              {index && <td data-label="Platform">{platformOf(images, finding.image)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function platformOf(images: Map<string, ImageScan>, digest: string): string {
  const image = images.get(digest);

  return image ? imageName(image) : shortDigest(digest);
}

/** Shows the package, its source package in brackets where the advisory names that, and the file listing it. */
function PackageName({ finding }: { finding: Finding }) {
  const { name, sourceName, location, purl } = finding.package;

  // One element, so that the stacked rows of narrow screens keep the parts together.
  return (
    <span>
      <span class="package-name">{name}</span>
      {sourceName !== undefined && sourceName !== name && <span class="muted"> ({sourceName})</span>}
      <span class="muted package-location" title={purl}>
        {location}
      </span>
    </span>
  );
}

/** Orders findings most severe first, then by highest score, then by package and advisory id. */
function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    (b.score ?? -1) - (a.score ?? -1) ||
    a.package.name.localeCompare(b.package.name) ||
    a.id.localeCompare(b.id)
  );
}

/** Matches the search text, ignoring case, in the advisory id, its aliases and the package names. */
function matchesSearch(finding: Finding, search: string): boolean {
  const needle = search.trim().toLowerCase();

  if (needle === '') {
    return true;
  }

  return [finding.id, ...finding.aliases, finding.package.name, finding.package.sourceName ?? ''].some(
    (text) => text.toLowerCase().includes(needle),
  );
}
