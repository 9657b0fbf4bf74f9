import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The files other tools read — the Slack app manifest, docker-compose, the Dockerfile, CI and the README —
 * checked against what the code actually does, so they cannot drift apart silently.
 */

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]),
    ),
  );
  return nested.flat().filter((file) => file.endsWith('.ts'));
}

/**
 * Bot scopes each Web API method needs (https://api.slack.com/methods); `null`: no scope. The history
 * reads need one scope per kind of channel the bot posts in: public and private.
 */
const SCOPE_OF_METHOD: Record<string, string | string[] | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.getPermalink': null,
  'usergroups.users.list': 'usergroups:read',
  'views.open': null,
  'views.update': null,
  'auth.test': null,
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
};

describe('manifest.json', () => {
  it('asks for exactly the bot scopes the code uses', async () => {
    const manifest = JSON.parse(await readFile('manifest.json', 'utf8'));
    const code = (await Promise.all((await sourceFiles('src')).map((file) => readFile(file, 'utf8')))).join(
      '\n',
    );
    const methods = new Set(
      [...code.matchAll(/client\.([a-z]+(?:\.[a-zA-Z]+)+)\(/g)].map((match) => match[1] as string),
    );
    expect(methods.size).toBeGreaterThan(3);
    const needed = new Set<string>();
    for (const method of methods) {
      expect(
        Object.keys(SCOPE_OF_METHOD),
        `add ${method}'s scope to this table and to manifest.json`,
      ).toContain(method);
      for (const scope of [SCOPE_OF_METHOD[method] ?? []].flat()) needed.add(scope);
    }
    if (/app\.command\(/.test(code)) needed.add('commands');
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });

  it('declares the bot user, /deploy with a usage hint, interactivity and Socket Mode', async () => {
    const manifest = JSON.parse(await readFile('manifest.json', 'utf8'));
    expect(manifest.features.bot_user.display_name).toBeTruthy();
    const deploy = manifest.features.slash_commands.find(
      (command: { command: string }) => command.command === '/deploy',
    );
    expect(deploy.usage_hint).toContain('start <service> <version>');
    expect(manifest.settings).toMatchObject({
      interactivity: { is_enabled: true },
      socket_mode_enabled: true,
    });
  });
});

describe('docker-compose.yml', () => {
  it('runs Redis with AOF and a health check, and the bot built from the Dockerfile once Redis is healthy', async () => {
    const compose = parse(await readFile('docker-compose.yml', 'utf8'));
    const redis = compose.services.redis;
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.healthcheck.test).toContain('ping');
    expect(redis.volumes[0]).toMatch(/:\/data$/);
    const bot = compose.services.flightdeck;
    expect(bot.build).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
    expect(bot.depends_on.redis.condition).toBe('service_healthy');
    expect(Object.keys(bot.environment)).toEqual(
      expect.arrayContaining([
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'SLACK_APP_TOKEN',
        'REDIS_URL',
        'PORT',
        'FLIGHTDECK_CONFIG',
        'LOG_LEVEL',
      ]),
    );
    expect(bot.environment.REDIS_URL).toBe('redis://redis:6379');
  });
});

describe('Dockerfile', () => {
  it('builds in one stage and runs compiled code as a non-root user in another', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM node:20\S* AS (\w+)/gm)].map((match) => match[1]);
    expect(stages).toEqual(['build', 'runtime']);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toContain('COPY --from=build');
    expect(runtime).toMatch(/CMD \["node", "dist\/main\.js"\]/);
    const build = JSON.parse(await readFile('tsconfig.build.json', 'utf8'));
    expect(build.compilerOptions.outDir).toBe('dist');
  });
});

describe('README.md and .ci/run', () => {
  it('open with the two commands, and CI runs exactly the README’s test command', async () => {
    const readme = await readFile('README.md', 'utf8');
    const opening = readme.slice(0, 1_500);
    expect(opening).toContain('npm start');
    expect(opening).toContain('npm test');
    const ci = await readFile('.ci/run', 'utf8');
    const commands = ci.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
    expect(commands.at(-1)?.trim()).toBe('npm test');
    expect(ci).toContain('npm ci');
    expect(ci).toContain('redis-server');
  });
});
