import { describeJsonError, parseJson } from '../../connectors/webhook/json-syntax';

describe('parseJson', () => {
  it.each([
    ['{"a":1,}', 7, 1, 8],
    ['[1,2', 4, 1, 5],
    ['{"a":"x" "b":2}', 9, 1, 10],
    ['{"a":tru}', 5, 1, 6],
    ['bad', 0, 1, 1],
    ['[\n  {"email": "x"},\n  {"email" "y"}\n]', 31, 3, 12],
    ['{"a":"\\q"}', 7, 1, 8],
    ['{"a":01}', 6, 1, 7],
    ['"abc', 4, 1, 5],
    ['{} []', 3, 1, 4],
  ])('finds the error in %j at position %i (line %i, column %i)', (text, position, line, col) => {
    const parsed = parseJson(text);

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ position, line, column: col });
  });

  it('agrees with V8 wherever V8 names a position', () => {
    const texts = ['{"a":1,}', '[1,2', '{"a":"x" "b":2}', '"abc', '[1,]', '{"a" 1}', '[1 2]'];
    const compared: string[] = [];
    for (const text of texts) {
      let v8: string | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        v8 = /at position (\d+)/.exec((error as Error).message)?.[1];
      }
      if (v8 === undefined) continue;
      const parsed = parseJson(text);

      expect(parsed.ok ? -1 : parsed.error.position).toBe(Number(v8));
      compared.push(text);
    }
    expect(compared.length).toBeGreaterThanOrEqual(5);
  });

  it('says a truncated body ends too early and never quotes the text', () => {
    const parsed = parseJson('[{"email":"lea@example.org"');

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(describeJsonError(parsed.error)).toBe(
        'JSON ends too early at position 27 (line 1, column 28)',
      );
    }
  });

  it('parses valid JSON, nested and with escapes', () => {
    expect(parseJson('{"a":[1,-2.5e3,true,null,"\\u00e9\\n"]}')).toEqual({
      ok: true,
      value: { a: [1, -2500, true, null, 'é\n'] },
    });
  });
});
