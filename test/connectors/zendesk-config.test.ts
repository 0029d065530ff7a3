import { resolveSecret } from '../../config/load';
import { ZendeskSourceConfig, zendeskReaderOptions } from '../../config/sources/zendesk';

const BASE = { type: 'zendesk', object: 'users' } as const;

function issues(input: unknown): string[] {
  const result = ZendeskSourceConfig.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ZendeskSourceConfig', () => {
  it('applies defaults and reads startTime as ISO or epoch seconds', () => {
    const iso = ZendeskSourceConfig.parse({
      ...BASE,
      subdomain: 'acme',
      email: 'admin@example.org',
      apiToken: { env: 'ZD_TOKEN' },
      startTime: '2026-01-01T01:00:00+01:00',
    });
    const seconds = ZendeskSourceConfig.parse({
      ...BASE,
      url: 'http://127.0.0.1:9',
      oauthToken: { file: '/x' },
      startTime: 5,
    });

    expect(iso).toEqual({
      ...BASE,
      subdomain: 'acme',
      email: 'admin@example.org',
      apiToken: { env: 'ZD_TOKEN' },
      startTime: 1767225600,
      recordKey: 'id',
      updatedAt: 'updated_at',
    });
    expect(seconds.startTime).toBe(5);
  });

  it('names the path of each mistake', () => {
    expect(issues({ ...BASE, email: 'a@example.org', apiToken: { env: 'T' } })).toEqual([
      'subdomain: give exactly one of subdomain and url',
    ]);
    expect(issues({ ...BASE, subdomain: 'acme', email: 'a@example.org' })).toEqual([
      'apiToken: needs email and apiToken, or oauthToken',
    ]);
    const oauth = { ...BASE, subdomain: 'acme', oauthToken: { env: 'O' } };
    expect(issues({ ...oauth, apiToken: { env: 'T' } })).toEqual([
      'oauthToken: give email and apiToken, or oauthToken',
    ]);
    expect(issues({ ...oauth, password: 'x' })[0]).toMatch(/password/);
    expect(issues({ ...oauth, subdomain: 'acme.zendesk.com' })[0]).toMatch(/^subdomain/);
    expect(issues({ ...oauth, object: 'groups' })[0]).toMatch(/^object/);
    expect(issues({ ...oauth, oauthToken: { token: 'inline' } })[0]).toMatch(/^oauthToken/);
  });

  it('builds reader options with secrets resolved at connect time', () => {
    process.env.BRAID_TEST_ZD_TOKEN = 'zd-secret-value';
    const config = ZendeskSourceConfig.parse({
      ...BASE,
      subdomain: 'acme',
      email: 'admin@example.org',
      apiToken: { env: 'BRAID_TEST_ZD_TOKEN' },
    });

    const options = zendeskReaderOptions('support', config, resolveSecret);
    delete process.env.BRAID_TEST_ZD_TOKEN;

    expect(options).toEqual({
      source: 'support',
      baseUrl: 'https://acme.zendesk.com',
      auth: { email: 'admin@example.org', apiToken: 'zd-secret-value' },
      object: 'users',
      startTime: 0,
      recordKey: 'id',
      updatedAt: 'updated_at',
    });
  });

  it('names the source path when a secret is missing', () => {
    const config = ZendeskSourceConfig.parse({
      ...BASE,
      url: 'https://help.example.com/',
      oauthToken: { env: 'BRAID_TEST_UNSET_ZD' },
    });

    expect(() => zendeskReaderOptions('support', config, resolveSecret)).toThrow(
      'sources.support.oauthToken: environment variable BRAID_TEST_UNSET_ZD is not set',
    );
  });
});
