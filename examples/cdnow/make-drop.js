#!/usr/bin/env node
'use strict';
/**
 * Writes the CDNOW example's SFTP drop from the public CDNOW file (examples/data/cdnow):
 *
 * - orders_19980701.csv: order_id,customer_id,date,amount,cds; one row per CDNOW line, the
 *   order id being the line's number in the file, the date turned into ISO (1997-01-01);
 * - customers_19980701.csv: row_id,customer_id,email,first_name,country; one row per CDNOW
 *   customer, email customer<id>@cdnow.example. Every customer whose id ends in 3 is there
 *   twice: a second CRM row with the same email in capitals and no country, so the sync has
 *   duplicates to unify. Names and countries are written untidily on purpose, for the recipes.
 *
 * Everything is derived from the customer id, so two runs write the same files.
 *
 * Usage: node examples/cdnow/make-drop.js <folder> [--customers N]
 * (--customers keeps the customers with an id up to N, and their orders.)
 */
const fs = require('node:fs');
const path = require('node:path');

const CDNOW = path.join(__dirname, '..', 'data', 'cdnow', 'CDNOW_master.txt');
const LINE = /^\s*(\d+)\s+(\d{4})(\d{2})(\d{2})\s+(\d+)\s+(\d+(?:\.\d+)?)\s*$/;
const NAMES = ['anne-marie', 'PAUL', '  jean   luc ', 'Sofia', 'KIM', 'li wei'];
const COUNTRIES = ['France', 'DEU', 'united states', 'GB', 'Allemagne', 'ESP', 'it'];

/** The customer rows of one CDNOW id (padded as in the file, e.g. "00013"). */
function customerRows(customerId) {
  const id = Number(customerId);
  const email = `customer${id}@cdnow.example`;
  const rows = [
    [`c${id}`, customerId, email, NAMES[id % NAMES.length], COUNTRIES[id % COUNTRIES.length]],
  ];
  if (id % 10 === 3)
    rows.push([`c${id}-crm2`, customerId, email.toUpperCase(), NAMES[id % NAMES.length], '']);
  return rows;
}

/** Parses CDNOW_master.txt into order rows, keeping customers with an id up to `maxCustomer`. */
function readOrders(maxCustomer) {
  const orders = [];
  const lines = fs.readFileSync(CDNOW, 'latin1').split(/\r?\n/);
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (!m || Number(m[1]) > maxCustomer) return;
    orders.push([String(i + 1), m[1], `${m[2]}-${m[3]}-${m[4]}`, m[6], m[5]]);
  });
  return orders;
}

function toCsv(header, rows) {
  return [header, ...rows].map((cells) => cells.join(',')).join('\n') + '\n';
}

/** Writes both files into `folder`; returns their paths and row counts. */
function writeDrop(folder, maxCustomer = Infinity) {
  const orders = readOrders(maxCustomer);
  const ids = [...new Set(orders.map((o) => o[1]))].sort();
  const customers = ids.flatMap(customerRows);
  fs.mkdirSync(folder, { recursive: true });
  const ordersFile = path.join(folder, 'orders_19980701.csv');
  const customersFile = path.join(folder, 'customers_19980701.csv');
  fs.writeFileSync(ordersFile, toCsv(['order_id', 'customer_id', 'date', 'amount', 'cds'], orders));
  const header = ['row_id', 'customer_id', 'email', 'first_name', 'country'];
  fs.writeFileSync(customersFile, toCsv(header, customers));
  return {
    ordersFile,
    customersFile,
    orders: orders.length,
    customers: ids.length,
    rows: customers.length,
  };
}

module.exports = { writeDrop, customerRows };

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--customers');
  const max = at >= 0 ? Number(args[at + 1]) : Infinity;
  const folder = args.find((arg, i) => !arg.startsWith('--') && (at < 0 || i !== at + 1));
  if (!folder || Number.isNaN(max)) {
    process.stderr.write('usage: node examples/cdnow/make-drop.js <folder> [--customers N]\n');
    process.exit(1);
  }
  const done = writeDrop(folder, max);
  process.stdout.write(
    `${done.orders} orders and ${done.rows} customer rows (${done.customers} customers) in ${folder}\n`,
  );
}
