/** Method a signed-in user authenticated with. */
export type AuthMethod = 'htpasswd' | 'api-key' | 'oidc' | 'forward-auth' | 'token';

/** Identity of a request's caller, as authorization uses it. */
export type Subject =
  | {
      kind: 'anonymous';
      /** Whether the client address is inside `access.anonymous.networks`. */
      inAnonymousNetwork: boolean;
    }
  | {
      kind: 'user';
      username: string;
      groups: readonly string[];
      method: AuthMethod;
      /** Whether the client address is inside `access.anonymous.networks`. */
      inAnonymousNetwork: boolean;
    };

/** Returns the name for audit records and token subjects; empty for anonymous clients. */
export function subjectName(subject: Subject): string {
  return subject.kind === 'user' ? subject.username : '';
}

/** Returns the user name of a caller for reports and audit records, or `anonymous`. */
export function callerName(subject: Subject | undefined): string {
  return subject?.kind === 'user' ? subject.username : 'anonymous';
}
