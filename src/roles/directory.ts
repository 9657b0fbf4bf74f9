import type { webApi } from '@slack/bolt';
import type { RoleConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';

/**
 * Which roles a Slack user holds. Roles list user IDs directly and/or user groups; group members come from
 * usergroups.users.list (Tier 2, ~20 calls a minute), so they are cached for `ttlMs` and refreshed at most
 * every `refreshOnMissMs` when someone is not found (they may have just joined the group).
 */

export interface RoleDirectoryOptions {
  ttlMs?: number;
  refreshOnMissMs?: number;
  now?: () => number;
}

interface CachedGroup {
  members: Set<string>;
  fetchedAt: number;
}

export class RoleDirectory {
  private readonly groups = new Map<string, CachedGroup>();
  private readonly inFlight = new Map<string, Promise<CachedGroup>>();
  private readonly ttl: number;
  private readonly refreshOnMiss: number;
  private readonly now: () => number;

  constructor(
    private readonly roles: Readonly<Record<string, RoleConfig>>,
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
    options: RoleDirectoryOptions = {},
  ) {
    this.ttl = options.ttlMs ?? 5 * 60_000;
    this.refreshOnMiss = options.refreshOnMissMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Every role the user holds. Never throws: a Slack failure counts as "not a member" and is logged. */
  async rolesOf(userId: string): Promise<string[]> {
    const held: string[] = [];
    for (const [name, role] of Object.entries(this.roles)) {
      if (role.users.includes(userId) || (await this.inAnyGroup(userId, role.groups))) held.push(name);
    }
    return held;
  }

  async isMember(userId: string, roleName: string): Promise<boolean> {
    const role = this.roles[roleName];
    if (!role) return false;
    return role.users.includes(userId) || this.inAnyGroup(userId, role.groups);
  }

  /**
   * Slack mentions that notify a role: its people and its user groups (undefined: no such role). People in
   * `except` are left out (e.g. those who already signed); a group is mentioned whole.
   */
  mentions(roleName: string, except?: ReadonlySet<string>): string | undefined {
    const role = this.roles[roleName];
    if (!role) return undefined;
    return [
      ...role.users.filter((user) => !except?.has(user)).map((user) => `<@${user}>`),
      ...role.groups.map((group) => `<!subteam^${group}>`),
    ].join(' ');
  }

  private async inAnyGroup(userId: string, groupIds: readonly string[]): Promise<boolean> {
    for (const groupId of groupIds) {
      let group = await this.group(groupId, false);
      if (!group.members.has(userId) && this.now() - group.fetchedAt >= this.refreshOnMiss) {
        group = await this.group(groupId, true);
      }
      if (group.members.has(userId)) return true;
    }
    return false;
  }

  private async group(groupId: string, force: boolean): Promise<CachedGroup> {
    const cached = this.groups.get(groupId);
    if (cached && !force && this.now() - cached.fetchedAt < this.ttl) return cached;
    const running = this.inFlight.get(groupId);
    if (running) return running;
    const fetching = this.fetch(groupId, cached).finally(() => this.inFlight.delete(groupId));
    this.inFlight.set(groupId, fetching);
    return fetching;
  }

  private async fetch(groupId: string, previous: CachedGroup | undefined): Promise<CachedGroup> {
    try {
      const response = await this.client.usergroups.users.list({ usergroup: groupId });
      const group = { members: new Set(response.users ?? []), fetchedAt: this.now() };
      this.groups.set(groupId, group);
      return group;
    } catch (error) {
      this.logger.warn(
        { usergroup: groupId, err: serializeError(error) },
        'could not list user-group members',
      );
      // Keep serving what we knew; retry after the miss interval rather than hammering a Tier 2 method.
      const fallback = { members: previous?.members ?? new Set<string>(), fetchedAt: this.now() };
      this.groups.set(groupId, fallback);
      return fallback;
    }
  }
}
