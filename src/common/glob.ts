/**
 * Turns a repository glob into a regular expression: `**` matches any run of characters including `/`,
 * `*` matches within one path segment, and everything else matches itself.
 */
export function globToPattern(glob: string): RegExp {
  const source = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((literal) => literal.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');

  return new RegExp(`^${source}$`);
}
