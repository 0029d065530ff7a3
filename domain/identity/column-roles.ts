/**
 * Recognises what a column holds from its header, in English and French: emails, phones, names,
 * birth dates, postcodes and identifiers. Pure: used by inferIdentityRules.
 */
import { normalizeTextKey } from './normalizers';

/** What a column holds, as far as identity is concerned. */
export type ColumnRole =
  | 'email'
  | 'phone'
  | 'first_name'
  | 'last_name'
  | 'full_name'
  | 'dob'
  | 'postcode'
  | 'external_id'
  | 'national_id'
  | 'record_id';

// Matched whole against the canonical header: lower case, no accents, words joined by "_"
// ("E-mail" → "e_mail", "Date de naissance" → "date_de_naissance", "N° client" → "n_client").
// The first role that matches wins, so record ids are tried before anything else.
const HEADER_ALTERNATIVES: ReadonlyArray<readonly [ColumnRole, readonly string[]]> = [
  [
    'record_id',
    [
      'id',
      'uid',
      'uuid',
      'unique_id',
      'rec_id',
      'record_id',
      'row_id',
      'row',
      '_id',
      'identifiant',
    ],
  ],
  [
    'email',
    [
      '(?:[a-z]+_)?(?:e_?mail|courriel|mail)(?:_?(?:address|adresse))?(?:_?\\d+)?',
      'adresse_(?:e_?mail|courriel|mail|electronique)',
    ],
  ],
  [
    'phone',
    [
      '(?:[a-z]+_)?(?:phone|telephone|tel|mobile|cell|cellphone|portable|gsm)' +
        '(?:_?(?:number|no|num|numero|fixe|portable|mobile|pro|perso))?(?:_?\\d+)?',
      '(?:numero|num|no|n)_(?:de_)?(?:telephone|tel|portable|mobile)',
    ],
  ],
  ['first_name', ['first_?name', 'given_?name', 'fore_?name', 'fname', 'first', 'prenoms?']],
  [
    'last_name',
    ['last_?name', 'surname', 'family_?name', 'lname', 'last', 'nom', 'nom_(?:de_)?famille'],
  ],
  [
    'full_name',
    [
      'full_?name',
      'name',
      'display_?name',
      '(?:customer|client|contact|person)_name',
      'nom_complet',
      'nom_prenom',
      'prenom_nom',
    ],
  ],
  [
    'dob',
    [
      'dob',
      'd_o_b',
      'date_of_birth',
      'birth_?date',
      'birth_?day',
      'bday',
      'born',
      'born_on',
      'date_(?:de_)?naissance',
      'naissance',
      'ddn',
      'ne_le',
    ],
  ],
  ['postcode', ['post_?code', 'postal_?code', 'zip', 'zip_?code', 'code_postal', 'cp', 'plz']],
  [
    'external_id',
    [
      '(?:customer|client|contact|salesforce|sfdc|external|crm|member|hubspot|zendesk|shopify|' +
        'stripe|loyalty)_?(?:id|number|no|num|ref|reference|code)',
      '(?:id|numero|num|no|n|ref|code)_(?:de_)?(?:client|customer|contact|crm|adherent|membre)',
    ],
  ],
  [
    'national_id',
    [
      'ssn',
      'soc_sec_id',
      'social_security_(?:number|no|id)',
      'national_id',
      'national_insurance_number',
      'nino',
      'nir',
      'insee',
      'numero_(?:de_)?securite_sociale',
      'num_secu',
    ],
  ],
];

const HEADER_PATTERNS = HEADER_ALTERNATIVES.map(
  ([role, alternatives]) => [role, new RegExp(`^(?:${alternatives.join('|')})$`)] as const,
);

/** The header in canonical form: lower case, accents stripped, words joined by "_". */
export function canonicalHeader(header: string): string {
  const text = normalizeTextKey(header) ?? '';
  return text.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** The role a header names, or undefined when the header says nothing about identity. */
export function roleFromHeader(header: string): ColumnRole | undefined {
  const canonical = canonicalHeader(header);
  return HEADER_PATTERNS.find(([, pattern]) => pattern.test(canonical))?.[0];
}

/** True when a header that names no role still says "birth" (`birth_date_client`, `né(e)`). */
export function headerMentionsBirth(header: string): boolean {
  return /birth|naiss|(?:^|_)(?:dob|born|nee?)(?:_|$)/.test(canonicalHeader(header));
}
