/** A parsed `WWW-Authenticate` challenge, such as `Bearer realm="...",service="...",scope="..."`. */
export interface Challenge {
  scheme: string;
  parameters: Record<string, string>;
}

/**
 * Parses the first challenge of a `WWW-Authenticate` header; returns undefined when there is none.
 * Parameters are read until something that is not `name=value` starts, which is the next challenge.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const match = header === undefined ? null : /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)/.exec(header);

  if (!match || header === undefined) {
    return undefined;
  }

  const parameters: Record<string, string> = {};
  const parameter = /[\s,]*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))/y;

  parameter.lastIndex = match[0].length;

  for (let found = parameter.exec(header); found; found = parameter.exec(header)) {
    parameters[found[1].toLowerCase()] = found[2] === undefined ? found[3] : found[2].replace(/\\(.)/g, '$1');
  }

  return { scheme: match[1].toLowerCase(), parameters };
}
