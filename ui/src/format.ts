/** Formatting of sizes, counts, times, digests and platforms for display. */

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

const countFormat = new Intl.NumberFormat();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** Formats a byte count in binary units: `512 B`, `31.0 KiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;

  while (Math.abs(value) >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }

  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${byteUnits[unit]}`;
}

/** Formats a count with the reader's thousands separators. */
export function formatCount(count: number): string {
  return countFormat.format(count);
}

/** Formats a ratio from 0 to 1 as a percentage with one decimal: `75.0 %`. */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Formats an ISO time as a date and time in the reader's locale and time zone. */
export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

/** Formats a time of day, for "updated at" notes. */
export function formatTime(date: Date): string {
  return timeFormat.format(date);
}

const relativeSteps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

/** Formats an ISO time relative to `now`: "3 minutes ago", "in 2 days". */
export function formatRelative(iso: string, now = Date.now()): string {
  let value = (Date.parse(iso) - now) / 1000;

  for (const [unit, size] of relativeSteps) {
    if (Math.abs(value) < size) {
      return relativeFormat.format(Math.round(value), unit);
    }

    value /= size;
  }

  return formatDateTime(iso);
}

/** Shortens `sha256:4c0f…` to the algorithm and the first 12 hex digits, as `docker images` does. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':', 2);

  return hex === undefined ? digest : `${algorithm}:${hex.slice(0, 12)}`;
}

export interface PlatformLike {
  os: string;
  architecture: string;
  variant?: string | null;
  osVersion?: string;
}

/** Formats a platform as `linux/arm64/v8`, the form `docker --platform` takes. */
export function formatPlatform(platform: PlatformLike): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}
