/** How a signed-in user proved who they are. */
export type AuthMethod = 'htpasswd' | 'api-key' | 'oidc' | 'forward-auth' | 'token';

/** Who is making a request, as far as authorization cares. */
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

/** The name written to audit records and token subjects; empty for anonymous clients. */
export function subjectName(subject: Subject): string {
  return subject.kind === 'user' ? subject.username : '';
}
