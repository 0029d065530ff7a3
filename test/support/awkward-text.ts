/**
 * Text that a bulk write could store wrongly: COPY's text format ends or changes a field at an
 * unescaped tab, newline, carriage return or backslash and reads `\N` as null; SQL and JSON
 * paths trip over quotes, blanks, numbers in text and non-ASCII. Each must come back exactly.
 */
export const AWKWARD_TEXT = [
  '5',
  '5.0',
  'a"b',
  'back\\slash',
  'NULL',
  '',
  'é日本',
  'line\nbreak',
  'tab\there',
  'cr\r\n',
  '\\N',
  '\\.',
  'end\\',
  '\\t not a tab',
  ' padded ',
  '\\\\N',
];
