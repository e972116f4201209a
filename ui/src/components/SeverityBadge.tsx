import { severityLevels, type Severity, type VulnerabilitySummary } from '../api';
import { formatCount } from '../format';

/**
 * Severity badges. Each one names its level in words, so the colour only repeats the text. The colours
 * of both themes are set in styles.css under "Severity".
 */

/** Returns the CSS class that colours a level, such as `severity-critical`. */
export function severityClass(severity: Severity): string {
  return `severity-${severity.toLowerCase()}`;
}

/** Orders levels from the most severe: 0 for CRITICAL, 5 for UNKNOWN. */
export function severityRank(severity: Severity): number {
  const rank = severityLevels.indexOf(severity);

  return rank === -1 ? severityLevels.length : rank;
}

/** Shows one level, such as `HIGH`, or a count of findings at that level, such as `3 HIGH`. */
export function SeverityBadge({ severity, count }: { severity: Severity; count?: number }) {
  return (
    <span class={`badge severity ${severityClass(severity)}`}>
      {count === undefined ? severity : `${formatCount(count)} ${severity}`}
    </span>
  );
}

/** Adds up the findings of a summary over all levels. */
export function findingTotal(summary: VulnerabilitySummary): number {
  return severityLevels.reduce((sum, level) => sum + summary.counts[level], 0);
}

/** Lists the non-zero counts in words, most severe first: "1 critical, 2 high". */
export function countsText(summary: VulnerabilitySummary): string {
  return severityLevels
    .filter((level) => summary.counts[level] > 0)
    .map((level) => `${formatCount(summary.counts[level])} ${level.toLowerCase()}`)
    .join(', ');
}

/**
 * Shows the compact badge of a tag or repository row: the most severe level with its count ("3 HIGH").
 * It shows a green "no findings" when every scanned image is clean, "incomplete" when no finding was
 * found but a layer could not be read, and "scan failed" when no scan finished. A summary of null means that no image was scanned, and shows nothing. Screen readers also
 * hear the counts of the other levels, which sighted readers find in the tooltip.
 */
export function VulnerabilityBadge({ summary }: { summary: VulnerabilitySummary | null }) {
  if (summary === null) {
    return null;
  }

  const failures = `the scan of ${formatCount(summary.failed)} ${summary.failed === 1 ? 'image' : 'images'} failed`;
  const failedNote = summary.failed > 0 ? `; ${failures}` : '';

  if (summary.scanned === 0) {
    return (
      <span class="badge badge-bad" title={failures.charAt(0).toUpperCase() + failures.slice(1)}>
        scan failed
      </span>
    );
  }

  if (summary.highest === null && summary.incomplete > 0) {
    return (
      <span
        class="badge badge-warn"
        title={`No known vulnerabilities in what could be read, but a layer of ${formatCount(summary.incomplete)} ${summary.incomplete === 1 ? 'image' : 'images'} could not be read${failedNote}`}
      >
        incomplete
      </span>
    );
  }

  if (summary.highest === null) {
    return (
      <span class="badge badge-ok" title={`No known vulnerabilities${failedNote}`}>
        no findings
      </span>
    );
  }

  const total = findingTotal(summary);
  const highestCount = summary.counts[summary.highest];
  const details = `${formatCount(total)} ${total === 1 ? 'finding' : 'findings'}: ${countsText(summary)}`;

  return (
    <span class={`badge severity ${severityClass(summary.highest)}`} title={`${details}${failedNote}`}>
      {formatCount(highestCount)} {summary.highest}
      {(total > highestCount || failedNote !== '') && (
        <span class="visually-hidden">
          {' '}
          of {details}
          {failedNote}
        </span>
      )}
    </span>
  );
}
