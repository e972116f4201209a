import type { ScanSummaryRow } from '../metadata/stores/scan-result.store.js';
import { severityLevels } from './matcher.js';
import type { SeverityLevel } from './osv/severity.js';

/** Findings of one or more images added up, as badges show them. */
export interface VulnerabilitySummary {
  /** Images with a finished scan. */
  scanned: number;
  /** Images whose scan failed. */
  failed: number;
  /** Scanned images with a layer that could not be read, whose findings may be incomplete. */
  incomplete: number;
  highest: SeverityLevel | null;
  counts: Record<SeverityLevel, number>;
  /** When the most recent of the scans ended, epoch ms. */
  scannedAt: number | null;
}

/** Adds up the scans of the images under a tag or a repository; each image counts once. */
export function summarize(rows: readonly ScanSummaryRow[]): VulnerabilitySummary {
  const counts = Object.fromEntries(severityLevels.map((level) => [level, 0])) as Record<
    SeverityLevel,
    number
  >;
  const seen = new Set<string>();
  let scanned = 0;
  let failed = 0;
  let incomplete = 0;
  let scannedAt: number | null = null;

  for (const row of rows) {
    if (seen.has(row.digest)) {
      continue;
    }

    seen.add(row.digest);
    scannedAt = Math.max(scannedAt ?? 0, row.scannedAt);

    if (row.status !== 'done') {
      failed += 1;

      continue;
    }

    scanned += 1;

    const summary = JSON.parse(row.summary) as Partial<Record<SeverityLevel, number>> & {
      incomplete?: boolean;
    };

    if (summary.incomplete === true) {
      incomplete += 1;
    }

    for (const level of severityLevels) {
      counts[level] += summary[level] ?? 0;
    }
  }

  return {
    scanned,
    failed,
    incomplete,
    highest: severityLevels.find((level) => counts[level] > 0) ?? null,
    counts,
    scannedAt,
  };
}
