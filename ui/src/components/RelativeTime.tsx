import { formatDateTime, formatRelative } from '../format';

/** Shows a time relative to now ("3 minutes ago"), with the exact time in `title` and `datetime`. */
export function RelativeTime({ value, missing = '—' }: { value: string | null; missing?: string }) {
  if (value === null) {
    return <span class="muted">{missing}</span>;
  }

  return (
    <time dateTime={value} title={formatDateTime(value)}>
      {formatRelative(value)}
    </time>
  );
}
