import { toFailure } from '../../activities/failure';
import { migrate, openDatabase } from '../../store/db';

describe('failures keep customer values out of workflow history', () => {
  it('drops the SQL and its bound values that knex puts in front of a database error', async () => {
    const db = openDatabase({ client: 'sqlite', filename: ':memory:' });
    try {
      await migrate(db);
      const row = {
        source: 's',
        record_key: 'k',
        payload: '{}',
        content_hash: 'h',
        staged_at_ms: 1,
      };
      await db('source_records').insert({ ...row, origin: 'ana.secret@example.org' });
      const error = await db('source_records')
        .insert({ ...row, origin: 'ana.secret@example.org' })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      const failure = toFailure(error);
      expect(failure.message).toBe(
        'database error SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed: ' +
          'source_records.source, source_records.record_key',
      );
      expect(failure.message).not.toContain('ana.secret');
    } finally {
      await db.destroy();
    }
  });
});
