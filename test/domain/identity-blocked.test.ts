import type { MatchKey } from '../../config/schema';
import { DEFAULT_ROLE_EMAILS } from '../../config/schema';
import {
  BlockedPatternError,
  classifyKeyValue,
  compileBlocked,
  compileKeyBlocked,
  isDefaultBlocked,
  isRoleEmail,
} from '../../domain/identity/blocked';
import { normalizeEmailKey, normalizePhone } from '../../domain/identity/normalizers';

const SEP = '\u001f';

describe('isDefaultBlocked', () => {
  it.each([
    '',
    'null',
    'na',
    'n/a',
    '-1',
    '0',
    'unknown',
    'anonymous',
    'none',
    'test',
    'xxx',
    'asdf',
    'noemail',
    'inconnu',
    '0000',
    '000000000',
    '1111111',
    'zzzz',
    '...',
    '123456',
    '987654321',
    '1900-01-01',
  ])('blocks the placeholder %p', (value) => {
    expect(isDefaultBlocked(value, false)).toBe(true);
  });

  it.each(['lea', 'taylor', '11', '42', '6988048', '2015-10-29', 'n', 'x', 'anna'])(
    'lets %p link',
    (value) => {
      expect(isDefaultBlocked(value, false)).toBe(false);
    },
  );

  it.each([
    'test@test.com',
    'test@gmail.com',
    'test+1@gmail.com',
    'no@email.com',
    'none@none.com',
    'jane@none.com',
    'jane@test.fr',
    'noemail@bistro.fr',
    'xxx@gmail.com',
    'jane@shop.invalid',
    'jane@localhost.test',
  ])('blocks the placeholder address %p', (email) => {
    expect(isDefaultBlocked(email, true)).toBe(true);
  });

  it.each([
    'hannah88@powers.com',
    'lucie.bernard@example.com',
    'jean@example.org',
    'contact@bistro-lune.example',
    'jane@test.bistro.fr',
    'testa@gmail.com',
    'jane@email.com',
  ])('lets the address %p link', (email) => {
    expect(isDefaultBlocked(email, true)).toBe(false);
  });
});

describe('compileBlocked', () => {
  it('compares exact entries after the key normalization', () => {
    const emailKey = (raw: string) => normalizeEmailKey(raw);
    const matches = compileBlocked(['  Jane@Shop.EXAMPLE '], emailKey);

    expect(matches('jane@shop.example')).toBe(true);
    expect(matches('jane2@shop.example')).toBe(false);
  });

  it('normalizes a phone entry to E.164 so any written form of the number blocks it', () => {
    const matches = compileBlocked(['06 12 34 56 78'], (raw) => normalizePhone(raw, 'FR'));

    expect(matches('+33612345678')).toBe(true);
    expect(matches('+33612345679')).toBe(false);
  });

  it('reads /.../flags entries as regular expressions, each test starting afresh', () => {
    const matches = compileBlocked(['/^guest-\\d+$/', '/@Acme\\.example$/gi']);

    expect(matches('guest-17')).toBe(true);
    expect(matches('guest-17x')).toBe(false);
    expect(matches('a@acme.example')).toBe(true);
    expect(matches('b@acme.example')).toBe(true);
    expect(matches('a@acme.example.org')).toBe(false);
  });

  it('tests each part of a compound value', () => {
    const matches = compileBlocked(['john doe', '/^19\\d\\d-01-01$/']);

    expect(matches(`john doe${SEP}1980-05-04`)).toBe(true);
    expect(matches(`jane doe${SEP}1980-01-01`)).toBe(true);
    expect(matches(`jane doe${SEP}1980-05-04`)).toBe(false);
  });

  it('names the entry of a regular expression that does not compile', () => {
    expect(() => compileBlocked(['/([a-z/'])).toThrow(BlockedPatternError);
    expect(() => compileBlocked(['/([a-z/'])).toThrow('blocked value "/([a-z/" is not a valid');
  });

  it('reads a lone or unclosed slash as an exact value', () => {
    const matches = compileBlocked(['/', '/abc']);

    expect(matches('/')).toBe(true);
    expect(matches('/abc')).toBe(true);
    expect(matches('abc')).toBe(false);
  });
});

describe('isRoleEmail', () => {
  it.each([
    ['contact@bistro-lune.example', true],
    ['contact+fr@bistro-lune.example', true],
    ['no-reply@shop.example', true],
    ['noreply@shop.example', true],
    ['contact.hugo@bistro-lune.example', false],
    ['hugo@contact.example', false],
    ['infos@shop.example', false],
  ])('reads %p as a role address: %p', (email, expected) => {
    expect(isRoleEmail(email, DEFAULT_ROLE_EMAILS)).toBe(expected);
  });

  it('uses the configured list in place of the default one', () => {
    expect(isRoleEmail('sales@shop.example', ['Sales'])).toBe(true);
    expect(isRoleEmail('contact@shop.example', ['sales'])).toBe(false);
  });
});

describe('classifyKeyValue', () => {
  const keys: MatchKey[] = [
    {
      name: 'email',
      columns: ['email'],
      normalize: 'email',
      providerRules: false,
      stripAccents: true,
      blocked: ['/@internal\\.example$/'],
    },
    {
      name: 'phone',
      columns: ['phone'],
      normalize: 'phone',
      providerRules: false,
      stripAccents: true,
      blocked: [],
    },
  ];
  const blocked = compileKeyBlocked(keys, ['+33 6 99 99 99 98'], 'FR');
  const email = { blocked, roleEmails: DEFAULT_ROLE_EMAILS, isEmailKey: true };
  const phone = { blocked, roleEmails: DEFAULT_ROLE_EMAILS, isEmailKey: false };

  it('links the identifiers of the BL-15 minimal input except the shared mailbox', () => {
    expect(classifyKeyValue('email', 'contact@bistro-lune.example', email)).toBe('role');
    expect(classifyKeyValue('phone', '+33611111111', phone)).toBe('link');
    expect(classifyKeyValue('phone', '+33622222222', phone)).toBe('link');
  });

  it('blocks built-in placeholders, dataset entries and key entries, each on its own key', () => {
    expect(classifyKeyValue('email', 'test@test.com', email)).toBe('blocked');
    expect(classifyKeyValue('email', 'ops@internal.example', email)).toBe('blocked');
    expect(classifyKeyValue('phone', '+33699999998', phone)).toBe('blocked');
    expect(classifyKeyValue('phone', 'ops@internal.example', phone)).toBe('link');
  });

  it('blocks rather than flags a role address that is also blocked', () => {
    const options = { ...email, blocked: compileBlocked(['contact@bistro-lune.example']) };

    expect(classifyKeyValue('email', 'contact@bistro-lune.example', options)).toBe('blocked');
  });

  it('blocks a compound value when any part is a placeholder', () => {
    const text = { roleEmails: DEFAULT_ROLE_EMAILS, isEmailKey: false };

    expect(classifyKeyValue('name_dob', `julia${SEP}taylor${SEP}2015-07-31`, text)).toBe('link');
    expect(classifyKeyValue('name_dob', `julia${SEP}unknown${SEP}2015-07-31`, text)).toBe(
      'blocked',
    );
    expect(classifyKeyValue('name_dob', `julia${SEP}taylor${SEP}1900-01-01`, text)).toBe('blocked');
  });

  it('never reads a non-email key as a role mailbox', () => {
    const text = { roleEmails: DEFAULT_ROLE_EMAILS, isEmailKey: false };

    expect(classifyKeyValue('login', 'contact@bistro-lune.example', text)).toBe('link');
  });
});
