/**
 * A config document for the event-export tests: customers from a CRM drop, linked to orders
 * (an events dataset) from a shop drop, synced to Braze with the exports a test gives. Tests
 * change what they need (the orders' columns, the sync's identifier) before parsing it.
 */
export function shopConfigDoc(input: {
  events: unknown[];
  brazeUrl?: string;
  apiKeyEnv?: string;
}): Record<string, any> {
  const sftp = { type: 'sftp', host: '127.0.0.1', username: 'b', password: { env: 'P' } };
  return {
    database: { client: 'sqlite', filename: 'braid.db' },
    sources: {
      crm: { ...sftp, pattern: '^c.*$', recordKey: 'id' },
      shop: { ...sftp, pattern: '^o.*$', recordKey: 'order_id' },
    },
    datasets: {
      customers: {
        sources: ['crm'],
        keys: [{ name: 'email', columns: ['email'] }],
        links: { orders: { dataset: 'orders', field: 'customer_id' } },
      },
      orders: {
        kind: 'events',
        sources: ['shop'],
        fields: { amount: 'number', cds: 'number' },
        events: { customer: 'customer_id', date: 'date', amount: 'amount', orderId: 'order_id' },
      },
    },
    destinations: {
      braze: {
        type: 'braze',
        endpoint: input.brazeUrl ?? 'http://127.0.0.1:4010',
        apiKey: { env: input.apiKeyEnv ?? 'K' },
      },
    },
    syncs: {
      s: {
        dataset: 'customers',
        destination: 'braze',
        mapping: { email: 'email' },
        events: input.events,
      },
    },
  };
}
