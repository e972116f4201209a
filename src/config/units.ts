const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const sizeUnits: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** Parses a duration such as `30s`, `5m` or `168h` into milliseconds, or returns undefined if invalid. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());

  return match ? Number(match[1]) * durationUnits[match[2]] : undefined;
}

/** Parses a duration the config schema has already validated; throws if it is not one. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);

  if (ms === undefined) {
    throw new Error(`"${text}" is not a duration`);
  }

  return ms;
}

/** Parses a size such as `512MiB` or `4096` (bytes) into bytes, or returns undefined if invalid. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(text.trim());

  return match ? Math.floor(Number(match[1]) * sizeUnits[match[2] ?? 'B']) : undefined;
}
