import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig, parseConfig, resolveSecret, resolveSync } from '../../config/load';
import { DEFAULT_ROLE_EMAILS } from '../../config/schema';
import { ConfigError } from '../../connectors/errors';

const EXAMPLE = path.resolve(__dirname, '../../examples/eshop/braid.yaml');
const FILE = '/etc/braid/braid.yaml';
const SECRET = 'S3cret-never-in-messages';
const EXAMPLE_VARS = [
  'BRAID_DB_FILE',
  'TEMPORAL_ADDRESS',
  'ESHOP_SFTP_HOST',
  'ESHOP_SFTP_PORT',
  'ESHOP_SFTP_USER',
  'ESHOP_SFTP_PASSWORD',
  'BRAZE_REST_ENDPOINT',
  'BRAZE_API_KEY',
  'BRAID_TEST_VAR',
];

/** A small valid config; tests break one thing in a copy of it. */
function minimal(): Record<string, any> {
  return {
    database: { client: 'sqlite', filename: 'data/braid.db' },
    sources: {
      eshop: {
        type: 'sftp',
        host: '127.0.0.1',
        username: 'braid',
        password: { env: 'ESHOP_SFTP_PASSWORD' },
        pattern: '^customers_\\d{8}\\.csv$',
        recordKey: 'unique_id',
      },
    },
    datasets: {
      customers: {
        sources: ['eshop'],
        keys: [
          { name: 'email', columns: ['email'], normalize: 'email' },
          { name: 'name_dob', columns: ['first_name', 'surname', 'dob'] },
        ],
      },
    },
    destinations: {
      braze: {
        type: 'braze',
        endpoint: 'http://127.0.0.1:4010',
        apiKey: { env: 'BRAZE_API_KEY' },
        attributes: [{ name: 'email' }],
      },
    },
    syncs: { x: { dataset: 'customers', destination: 'braze', mapping: { email: 'email' } } },
  };
}

function parseBroken(change: (config: Record<string, any>) => void): () => unknown {
  const config = minimal();
  change(config);
  return () => parseConfig(YAML.stringify(config), FILE);
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  const saved = new Map(EXAMPLE_VARS.map((name) => [name, process.env[name]]));
  let dir: string;

  beforeEach(() => {
    for (const name of EXAMPLE_VARS) delete process.env[name];
    dir = mkdtempSync(path.join(os.tmpdir(), 'braid-config-'));
  });

  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the eshop example with its defaults and no secrets set', () => {
    const { file, config } = loadConfig(EXAMPLE);

    expect(file).toBe(EXAMPLE);
    expect(config.database).toEqual({
      client: 'sqlite',
      filename: path.resolve(path.dirname(EXAMPLE), '../../.braid/eshop.db'),
    });
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'braid',
    });
    expect(config.sources.eshop).toEqual({
      type: 'sftp',
      host: '127.0.0.1',
      port: 2222,
      username: 'braid',
      password: { env: 'ESHOP_SFTP_PASSWORD' },
      directory: '/drop',
      pattern: '^customers_\\d{8}\\.csv$',
      format: { type: 'csv', delimiter: ',' },
      recordKey: 'unique_id',
      mode: 'auto',
      suffix: '',
      stableSeconds: 60,
    });
    const defaults = { providerRules: false, stripAccents: true, blocked: [] };
    expect(config.datasets.customers!.keys).toEqual([
      { name: 'email', columns: ['email'], normalize: 'email', ...defaults },
      {
        name: 'name_dob',
        columns: ['first_name', 'surname', 'dob'],
        normalize: 'text',
        ...defaults,
      },
    ]);
    expect(config.datasets.customers!.survivorship).toEqual({
      default: 'most_recent_non_null',
      columns: {},
      sourcePriority: [],
    });
    expect(config.datasets.customers!.roleEmails).toEqual(DEFAULT_ROLE_EMAILS);
    expect(config.destinations.braze).toMatchObject({
      endpoint: 'http://127.0.0.1:4010',
      apiKey: { env: 'BRAZE_API_KEY' },
      batchSize: 75,
      timeWindowSeconds: 3,
      requestVolume: 3000,
    });
    expect(config.syncs['eshop-to-braze']!.mapping).toEqual({
      email: 'email',
      first_name: 'first_name',
      last_name: 'surname',
      dob: 'dob',
      home_city: 'city',
    });
  });

  it('fills ${VAR} from the environment, typed as YAML reads it', () => {
    process.env.ESHOP_SFTP_PORT = '31022';
    process.env.ESHOP_SFTP_HOST = '127.0.0.2';
    process.env.BRAID_DB_FILE = '/var/lib/braid/eshop.db';

    const { config } = loadConfig(EXAMPLE);

    expect(config.sources.eshop).toMatchObject({ type: 'sftp', port: 31022, host: '127.0.0.2' });
    expect(config.database).toEqual({ client: 'sqlite', filename: '/var/lib/braid/eshop.db' });
  });

  it('uses the default of ${VAR:-default} when the variable is empty', () => {
    process.env.ESHOP_SFTP_PORT = '';

    expect(loadConfig(EXAMPLE).config.sources.eshop).toMatchObject({ port: 2222 });
  });

  it('names the file and the variable when ${VAR} has no value and no default', () => {
    const file = path.join(dir, 'braid.yaml');
    writeFileSync(file, YAML.stringify(minimal()).replace('127.0.0.1:4010', '${BRAID_TEST_VAR}'));

    const error = errorOf(() => loadConfig(file));

    expect(error.message).toBe(
      `${file}: \${BRAID_TEST_VAR} is used but the environment variable BRAID_TEST_VAR is not set`,
    );
  });

  it('names the file and the position of a type error caused by a variable', () => {
    process.env.ESHOP_SFTP_PORT = 'twenty-two';

    const error = errorOf(() => loadConfig(EXAMPLE));

    expect(error.message).toBe(
      `${EXAMPLE}: sources.eshop.port: Invalid input: expected number, received string`,
    );
  });

  it('names the file it cannot read', () => {
    const missing = path.join(dir, 'nope.yaml');

    expect(errorOf(() => loadConfig(missing)).message).toBe(`Cannot read config file ${missing}`);
  });

  it('resolves a relative SQLite file against the config folder and keeps :memory:', () => {
    const relative = parseConfig(YAML.stringify(minimal()), FILE);
    const memory = minimal();
    memory.database.filename = ':memory:';

    expect(relative.database).toEqual({ client: 'sqlite', filename: '/etc/braid/data/braid.db' });
    expect(parseConfig(YAML.stringify(memory), FILE).database).toEqual({
      client: 'sqlite',
      filename: ':memory:',
    });
  });
});

describe('parseConfig', () => {
  it.each<[string, (c: Record<string, any>) => void, string]>([
    ['an empty mapping', (c) => (c.syncs.x.mapping = {}), 'syncs.x.mapping: is empty'],
    [
      'a port out of range',
      (c) => (c.sources.eshop.port = 70000),
      'sources.eshop.port: Too big: expected number to be <=65535',
    ],
    [
      'a port as text',
      (c) => (c.sources.eshop.port = '22'),
      'sources.eshop.port: Invalid input: expected number, received string',
    ],
    [
      'no match key',
      (c) => (c.datasets.customers.keys = []),
      'datasets.customers.keys: a profiles dataset needs at least one key',
    ],
    [
      'a blocked value that is a broken regular expression',
      (c) => (c.datasets.customers.blockedValues = ['/[a-/']),
      'datasets.customers.blockedValues.0: /[a-/ is not a valid regular expression',
    ],
    [
      'an unknown phone country',
      (c) => (c.datasets.customers.defaultCountry = 'XX'),
      'datasets.customers.defaultCountry: "XX" is not a country code known for phone numbers',
    ],
    [
      'two keys with one name',
      (c) => c.datasets.customers.keys.push({ name: 'email', columns: ['email2'] }),
      'datasets.customers.keys.2.name: "email" is used twice',
    ],
    [
      'union survivorship on the field a link joins on',
      (c) => {
        c.datasets.customers.links = { orders: { dataset: 'orders', field: 'customer_id' } };
        c.datasets.customers.survivorship = {
          default: 'most_recent',
          columns: { customer_id: 'union' },
        };
        c.datasets.orders = {
          kind: 'events',
          sources: ['eshop'],
          events: { customer: 'customer_id', date: 'date' },
        };
      },
      'datasets.customers.survivorship.columns.customer_id: links.orders joins on "customer_id": ' +
        'give it a single-value rule, not union (every member\'s "customer_id" links its events already)',
    ],
    [
      'a rule naming an unknown key',
      (c) => (c.datasets.customers.rules = [{ name: 'exact', keys: ['phone'] }]),
      'datasets.customers.rules.0.keys: no key "phone"',
    ],
    [
      'a rule with both keys and a fuzzy comparison',
      (c) =>
        (c.datasets.customers.rules = [
          { name: 'r', keys: ['email'], block: ['dob'], compare: [{ column: 'surname' }] },
        ]),
      'datasets.customers.rules.0: give either keys, or block and compare',
    ],
    [
      'a key without columns',
      (c) => (c.datasets.customers.keys[1].columns = []),
      'datasets.customers.keys.1.columns: Too small: expected array to have >=1 items',
    ],
    [
      'an unknown normalizer',
      (c) => (c.datasets.customers.keys[0].normalize = 'soundex'),
      'datasets.customers.keys.0.normalize: Invalid option: ' +
        'expected one of "text"|"email"|"phone"|"digits"|"date"',
    ],
    [
      'an unknown source in a dataset',
      (c) => c.datasets.customers.sources.push('crm'),
      'datasets.customers.sources.1: unknown source "crm"',
    ],
    [
      'an unknown dataset in a sync',
      (c) => (c.syncs.x.dataset = 'people'),
      'syncs.x.dataset: unknown dataset "people"',
    ],
    [
      'an unknown destination in a sync',
      (c) => (c.syncs.x.destination = 'iterable'),
      'syncs.x.destination: unknown destination "iterable"',
    ],
    [
      'a declared attribute the sync does not map',
      (c) => c.destinations.braze.attributes.push({ name: 'toString' }),
      'destinations.braze.attributes: "toString" is not mapped by syncs.x.mapping',
    ],
    [
      'a source without credentials',
      (c) => delete c.sources.eshop.password,
      'sources.eshop: needs password or privateKey',
    ],
    [
      'a misspelt setting',
      (c) => (c.sources.eshop.hots = 'x'),
      'sources.eshop: Unrecognized key: "hots"',
    ],
    [
      'an invalid file pattern',
      (c) => (c.sources.eshop.pattern = '(['),
      'sources.eshop.pattern: must be a valid regular expression',
    ],
    [
      'a name that is not an identifier',
      (c) => (c.syncs['1x'] = c.syncs.x),
      'syncs.1x: Invalid key in record',
    ],
    [
      'a batch larger than Braze accepts',
      (c) => (c.destinations.braze.batchSize = 76),
      'destinations.braze.batchSize: Too big: expected number to be <=75',
    ],
    [
      'an unknown database client',
      (c) => (c.database = { client: 'mysql' }),
      "database.client: Invalid discriminator value. Expected 'sqlite' | 'postgres'",
    ],
  ])('rejects %s with the path in the file', (_, change, expected) => {
    const error = errorOf(parseBroken(change));

    expect(error.message).toBe(`${FILE}: ${expected}`);
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('CONFIG');
  });

  it('rejects a secret written inline without repeating it', () => {
    const error = errorOf(parseBroken((c) => (c.sources.eshop.password = SECRET)));

    expect(error.message).toBe(
      `${FILE}: sources.eshop.password: a secret is never written in the file: ` +
        'use { env: NAME } or { file: /path }',
    );
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects broken YAML without quoting the line, which may hold an interpolated secret', () => {
    process.env.BRAID_TEST_VAR = `postgres://braid:${SECRET}: x@db/braid`;
    const text = 'database:\n  client: postgres\n  connection: ${BRAID_TEST_VAR}\n';

    try {
      const error = errorOf(() => parseConfig(text, FILE));

      expect(error.message).toBe(
        `${FILE}: invalid YAML: ` +
          'Nested mappings are not allowed in compact mappings at line 3, column 15',
      );
      expect(error.message).not.toContain(SECRET);
      expect(String(error.cause ?? '')).not.toContain(SECRET);
    } finally {
      delete process.env.BRAID_TEST_VAR;
    }
  });

  it('does not resolve secret references while loading', () => {
    delete process.env.BRAZE_API_KEY;

    const config = parseConfig(YAML.stringify(minimal()), FILE);

    expect(config.destinations.braze!.apiKey).toEqual({ env: 'BRAZE_API_KEY' });
  });
});

describe('resolveSecret', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'braid-secret-'));
  });

  afterEach(() => {
    delete process.env.BRAID_TEST_VAR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads an environment variable', () => {
    process.env.BRAID_TEST_VAR = SECRET;

    expect(resolveSecret({ env: 'BRAID_TEST_VAR' }, 'destinations.braze.apiKey')).toBe(SECRET);
  });

  it('names the variable, not a value, when it is unset or empty', () => {
    const unset = errorOf(() =>
      resolveSecret({ env: 'BRAID_TEST_VAR' }, 'destinations.braze.apiKey'),
    );
    process.env.BRAID_TEST_VAR = '';
    const empty = errorOf(() =>
      resolveSecret({ env: 'BRAID_TEST_VAR' }, 'destinations.braze.apiKey'),
    );

    expect(unset.message).toBe(
      'destinations.braze.apiKey: environment variable BRAID_TEST_VAR is not set',
    );
    expect(empty.message).toBe(unset.message);
  });

  it('reads a file and trims its trailing newline', () => {
    const file = path.join(dir, 'api-key');
    writeFileSync(file, `${SECRET}\n`);

    expect(resolveSecret({ file }, 'destinations.braze.apiKey')).toBe(SECRET);
  });

  it('names the file, not a value, when it cannot be read', () => {
    const file = path.join(dir, 'missing');

    const error = errorOf(() => resolveSecret({ file }, 'sources.eshop.password'));

    expect(error.message).toBe(`sources.eshop.password: cannot read secret file ${file}`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('refuses an empty secret file', () => {
    const file = path.join(dir, 'empty');
    writeFileSync(file, ' \n');

    const error = errorOf(() => resolveSecret({ file }, 'sources.eshop.password'));

    expect(error.message).toBe(`sources.eshop.password: secret file ${file} is empty`);
  });
});

describe('resolveSync', () => {
  it('returns the sync with its dataset and destination', () => {
    const config = parseConfig(YAML.stringify(minimal()), FILE);

    const resolved = resolveSync(config, 'x');

    expect(resolved.sync.mapping).toEqual({ email: 'email' });
    expect(resolved.sync.identifier).toBe('master_id');
    expect(resolved.dataset.sources).toEqual(['eshop']);
    expect(resolved.destination.endpoint).toBe('http://127.0.0.1:4010');
  });

  it('names the unknown sync and the configured ones', () => {
    const config = parseConfig(YAML.stringify(minimal()), FILE);

    expect(errorOf(() => resolveSync(config, 'y')).message).toBe(
      'Unknown sync "y" (configured: x)',
    );
  });
});
