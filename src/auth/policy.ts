import type { AccessAction, AccessConfig, RepositoryRuleConfig } from '../config/config.schema.js';
import { globToPattern } from '../common/glob.js';
import type { Subject } from './subject.js';

export type { AccessAction };

const allActions: readonly AccessAction[] = ['read', 'create', 'update', 'delete'];

interface CompiledRule {
  glob: string;
  pattern: RegExp;
  rule: RepositoryRuleConfig;
}

/**
 * The `access` section, compiled once. Every decision is a pure function of the policy, the subject and
 * the repository name, so the table of cases in its tests covers it without a server.
 */
export class AccessPolicy {
  private readonly rules: CompiledRule[];

  constructor(private readonly config: AccessConfig) {
    this.rules = Object.entries(config.repositories)
      .map(([glob, rule]) => ({ glob, pattern: globToPattern(glob), rule }))
      // Longest glob first, so the first match is the most specific one.
      .sort((a, b) => b.glob.length - a.glob.length || a.glob.localeCompare(b.glob));
  }

  /** Computes the actions `subject` may take on `repository`. */
  actions(subject: Subject, repository: string): Set<AccessAction> {
    if (this.isAdmin(subject)) {
      return new Set(allActions);
    }

    const rule = this.rules.find((candidate) => candidate.pattern.test(repository))?.rule;
    const granted = new Set<AccessAction>();

    if (rule === undefined) {
      return granted;
    }

    const add = (actions: readonly AccessAction[] | undefined) =>
      actions?.forEach((action) => granted.add(action));

    // Anonymous rules apply to every client inside the anonymous networks, signed in or not, so signing
    // in never takes away what the same client could do without it.
    if (subject.inAnonymousNetwork) {
      add(rule.anonymous);
    }

    if (subject.kind === 'user') {
      add(rule.authenticated);
      add(rule.users?.[subject.username]);
      subject.groups.forEach((group) => add(rule.groups?.[group]));
    }

    return granted;
  }

  allows(subject: Subject, repository: string, action: AccessAction): boolean {
    return this.actions(subject, repository).has(action);
  }

  isAdmin(subject: Subject): boolean {
    return subject.kind === 'user' && isListed(this.config.admins, subject.username, subject.groups);
  }

  /** `/metrics`: anonymous clients inside the anonymous networks when allowed, listed users, admins. */
  mayReadMetrics(subject: Subject): boolean {
    const metrics = this.config.metrics;

    if (subject.kind === 'anonymous') {
      return metrics.anonymous && subject.inAnonymousNetwork;
    }

    return (
      (metrics.anonymous && subject.inAnonymousNetwork) ||
      isListed(metrics, subject.username, subject.groups) ||
      this.isAdmin(subject)
    );
  }
}

function isListed(list: { users: string[]; groups: string[] }, username: string, groups: readonly string[]) {
  return list.users.includes(username) || groups.some((group) => list.groups.includes(group));
}
