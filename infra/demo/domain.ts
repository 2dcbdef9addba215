// The demo business domain: Inkwell Printers' customers, products, orders and refunds, in a
// schema of the tenant's own. It is what `query_sql` reads (through a role that can only
// SELECT from that schema) and what the demo write tools change. Any tenant can have one;
// `npm start` sets it up for the default tenant, tests for their own tenants.
import type { Db } from '../db/pool.js';
import { inTransaction } from '../db/pool.js';
import { quoteIdent, setUpTenantSchema, tenantReaderRole, tenantSchema } from '../db/tenant-schema.js';

const DOMAIN_TABLES = `
CREATE TABLE IF NOT EXISTS customers (
  id          int PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  city        text NOT NULL,
  tier        text NOT NULL DEFAULT 'standard',
  created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'People and companies who buy from Inkwell Printers.';
CREATE TABLE IF NOT EXISTS products (
  id          int PRIMARY KEY,
  name        text NOT NULL,
  category    text NOT NULL,
  price_usd   numeric(10, 2) NOT NULL
);
COMMENT ON TABLE products IS 'Printers, ink, toner and support plans for sale, with list prices.';
CREATE TABLE IF NOT EXISTS orders (
  id          int PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id),
  product_id  int NOT NULL REFERENCES products (id),
  quantity    int NOT NULL,
  amount_usd  numeric(10, 2) NOT NULL,
  status      text NOT NULL DEFAULT 'delivered',
  ordered_at  timestamptz NOT NULL
);
COMMENT ON TABLE orders IS 'One row per order: who bought which product, how many, for how much, when, and its status.';
CREATE TABLE IF NOT EXISTS refunds (
  id              serial PRIMARY KEY,
  order_id        int NOT NULL REFERENCES orders (id),
  amount_usd      numeric(10, 2) NOT NULL,
  reason          text NOT NULL,
  status          text NOT NULL DEFAULT 'issued',
  idempotency_key text NOT NULL UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  reversed_at     timestamptz
);
COMMENT ON TABLE refunds IS 'Refunds issued against orders (status issued or reversed).';
`;

const CUSTOMERS: Array<[number, string, string, string, string]> = [
  [1, 'John Doe', 'john.doe@example.com', 'Leeds', 'standard'],
  [2, 'Emily Doe', 'emily.doe@example.com', 'Bristol', 'plus'],
  [3, 'Priya Raman', 'priya.raman@example.com', 'Manchester', 'business'],
  [4, 'Marcus Lee', 'marcus.lee@example.com', 'Glasgow', 'standard'],
  [5, 'Sofia Rossi', 'sofia.rossi@example.com', 'Cardiff', 'plus'],
  [6, 'Northwind Studio', 'accounts@northwind.example.com', 'London', 'business'],
];

const PRODUCTS: Array<[number, string, string, number]> = [
  [1, 'Inkwell Jet 5', 'printer', 149.0],
  [2, 'Inkwell LX-200', 'printer', 329.0],
  [3, 'Jet 5 ink set (CMYK)', 'ink', 42.5],
  [4, 'LX-200 toner cartridge', 'toner', 79.0],
  [5, 'LX-200 drum unit', 'toner', 119.0],
  [6, 'Inkwell Care Plus (1 year)', 'support plan', 59.0],
];

// [id, customer, product, quantity, ordered_at, status]
const ORDERS: Array<[number, number, number, number, string, string]> = [
  [1001, 1, 1, 1, '2026-03-02T10:15:00Z', 'delivered'],
  [1002, 1, 3, 2, '2026-06-18T16:40:00Z', 'delivered'],
  [1003, 2, 2, 1, '2026-04-11T09:05:00Z', 'delivered'],
  [1004, 2, 4, 1, '2026-09-27T13:22:00Z', 'delivered'],
  [1005, 3, 2, 3, '2026-05-03T11:00:00Z', 'delivered'],
  [1006, 3, 6, 3, '2026-05-03T11:02:00Z', 'delivered'],
  [1007, 4, 1, 1, '2026-10-08T18:30:00Z', 'shipped'],
  [1008, 5, 3, 1, '2026-08-14T08:45:00Z', 'delivered'],
  [1009, 6, 2, 5, '2026-02-20T14:10:00Z', 'delivered'],
  [1010, 6, 5, 2, '2026-10-30T10:00:00Z', 'processing'],
  [1011, 1, 6, 1, '2026-11-02T12:00:00Z', 'delivered'],
];

/** The demo domain for one tenant: tables, grants and rows. Safe to call again. */
export async function seedDemoDomain(db: Db, tenantId: string): Promise<void> {
  await inTransaction(db, async (client) => {
    // Two processes seeding at once (tests, a second `npm start`) must not race on DDL.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`demo-domain:${tenantId}`]);
    await client.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [tenantId]);
    await setUpTenantSchema(client, tenantId);
    const schema = quoteIdent(tenantSchema(tenantId));
    await client.query(`SET LOCAL search_path = ${schema}`);
    await client.query(DOMAIN_TABLES);
    await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${quoteIdent(tenantReaderRole(tenantId))}`);
    const { rowCount } = await client.query('SELECT 1 FROM customers LIMIT 1');
    if (rowCount) return;
    for (const [id, name, email, city, tier] of CUSTOMERS) {
      await client.query('INSERT INTO customers (id, name, email, city, tier) VALUES ($1, $2, $3, $4, $5)', [id, name, email, city, tier]);
    }
    for (const [id, name, category, price] of PRODUCTS) {
      await client.query('INSERT INTO products (id, name, category, price_usd) VALUES ($1, $2, $3, $4)', [id, name, category, price]);
    }
    for (const [id, customer, product, quantity, at, status] of ORDERS) {
      const price = PRODUCTS.find((p) => p[0] === product)![3];
      await client.query(
        'INSERT INTO orders (id, customer_id, product_id, quantity, amount_usd, status, ordered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, customer, product, quantity, (price * quantity).toFixed(2), status, at],
      );
    }
  });
}
