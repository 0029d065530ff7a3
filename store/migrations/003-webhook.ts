import type { Knex } from 'knex';

/** The webhook source: a log of every request, and every record version received. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_requests', (t) => {
    t.increments('id').primary();
    t.string('source', 100).notNullable();
    t.string('endpoint', 20).notNullable();
    t.bigInteger('received_at_ms').notNullable();
    t.string('idempotency_key', 255).nullable();
    t.integer('status_code').notNullable();
    t.integer('record_count').notNullable().defaultTo(0);
    t.integer('accepted').notNullable().defaultTo(0);
    t.integer('staged').notNullable().defaultTo(0);
    t.integer('rejected').notNullable().defaultTo(0);
    t.string('error_summary', 500).nullable();
    // JSON list of {index, field, reason}; reasons never quote personal data.
    t.text('rejects').nullable();
    t.string('body_hash', 64).nullable();
    t.string('remote_address', 100).nullable();
    t.integer('duration_ms').nullable();
    // The answer sent, kept only for requests that a repeated Idempotency-Key replays.
    t.text('response').nullable();
    t.integer('replay_of').nullable();
    t.index(['source', 'id']);
    // Only the first answered request owns a key; repeats and failures are logged beside it.
    t.unique(['source', 'idempotency_key'], {
      indexName: 'webhook_requests_idempotency',
      predicate: knex.whereNotNull('response'),
      useConstraint: false,
    });
  });

  await knex.schema.createTable('source_record_history', (t) => {
    t.increments('id').primary();
    t.string('source', 100).notNullable();
    t.string('record_key', 500).notNullable();
    t.string('event_id', 255).nullable();
    t.string('content_hash', 64).notNullable();
    t.text('payload').notNullable();
    t.bigInteger('occurred_at_ms').nullable();
    t.bigInteger('received_at_ms').notNullable();
    t.integer('request_id').nullable();
    // 'staged': became the current version; 'stale': older than the staged one, kept here only.
    t.string('outcome', 10).notNullable();
    t.unique(['source', 'event_id'], { indexName: 'source_record_history_event' });
    t.index(['source', 'record_key', 'content_hash'], 'source_record_history_content');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('source_record_history');
  await knex.schema.dropTableIfExists('webhook_requests');
}
