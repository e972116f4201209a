/** A parsed `WWW-Authenticate` challenge, such as `Bearer realm="...",service="...",scope="..."`. */
export interface Challenge {
  scheme: string;
  parameters: Record<string, string>;
}

/** Parses the first challenge of a `WWW-Authenticate` header; returns undefined when there is none. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const match = header === undefined ? null : /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);

  if (!match) {
    return undefined;
  }

  const parameters: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;

  for (const parameter of match[2].matchAll(pattern)) {
    parameters[parameter[1].toLowerCase()] = parameter[2] ?? parameter[3];
  }

  return { scheme: match[1].toLowerCase(), parameters };
}
