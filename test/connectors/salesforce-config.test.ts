import { SalesforceSourceConfig, salesforceReaderOptions } from '../../config/sources/salesforce';

const BASE = {
  type: 'salesforce',
  loginUrl: 'https://test.salesforce.com',
  username: 'etl@example.org',
  password: { env: 'BRAID_TEST_SF_PASSWORD' },
  object: 'Contact',
};

describe('SalesforceSourceConfig', () => {
  test('fills the documented defaults', () => {
    const parsed = SalesforceSourceConfig.parse(BASE);

    expect(parsed).toMatchObject({
      fields: [],
      cursorField: 'SystemModstamp',
      apiVersion: '59.0',
      pageSize: 2000,
      bulkThreshold: 50_000,
      recordKey: 'Id',
    });
    expect(parsed.updatedAt).toBeUndefined();
  });

  test.each([
    [
      'no password',
      { ...BASE, password: undefined },
      'needs username and password, or accessToken',
    ],
    [
      'password and token',
      { ...BASE, accessToken: { env: 'T' } },
      'use username/password or accessToken, not both',
    ],
    [
      'a token without instanceUrl',
      { type: 'salesforce', object: 'Contact', accessToken: { env: 'T' } },
      'is required with accessToken',
    ],
    ['CreatedDate as cursor', { ...BASE, cursorField: 'CreatedDate' }, 'Invalid option'],
    ['a page of 5,000', { ...BASE, pageSize: 5000 }, 'Too big'],
    [
      'an object name with SOQL in it',
      { ...BASE, object: 'Contact; DELETE' },
      'must be an object API name',
    ],
    ['an unknown key', { ...BASE, passwrd: 'x' }, 'Unrecognized key'],
  ])('refuses %s', (_, input, message) => {
    const result = SalesforceSourceConfig.safeParse(input);

    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.message).join('; ')).toContain(message);
  });

  test('resolves secrets only when the reader asks for credentials', () => {
    delete process.env.BRAID_TEST_SF_PASSWORD;
    const opts = salesforceReaderOptions('crm', SalesforceSourceConfig.parse(BASE));

    expect(() => opts.credentials()).toThrow(
      'sources.crm.password: environment variable BRAID_TEST_SF_PASSWORD is not set',
    );
    process.env.BRAID_TEST_SF_PASSWORD = 'from-env';
    expect(opts.credentials()).toEqual({
      kind: 'password',
      username: 'etl@example.org',
      password: 'from-env',
      securityToken: undefined,
    });
    expect(opts).toMatchObject({
      loginUrl: 'https://test.salesforce.com',
      source: 'crm',
      object: 'Contact',
    });
    delete process.env.BRAID_TEST_SF_PASSWORD;
  });
});
