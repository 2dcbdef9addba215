// The offline `local` model's SQL writer. It is rule-based, not a language model: a handful of
// question patterns about the demo domain (customers, products, orders), each mapped to a
// fixed query with the customer's name from the question filled in. It sees no data, only the
// question and the table summaries, and it says so when a question is outside its rules
// rather than guessing. Its reply is the JSON every model is asked for in text-to-SQL:
// {"sql": "SELECT …", "reason"?: "…"}, or {"sql": null, "reason": "…"}.
import type { SqlReply, SqlTableSummary } from '../types.js';

interface Rule {
  name: string;
  /** Tables and the columns the query reads from each. */
  needs: Record<string, string[]>;
  needsName: boolean;
  matches(q: string): boolean;
  sql(name: string): string;
}

const ORDER_WORDS = /\b(orders?|ordered|buy|buys|bought|purchase[sd]?|purchases)\b/i;

const ORDERS_COLUMNS = ['id', 'customer_id', 'product_id', 'amount_usd', 'ordered_at'];

const RULES: Rule[] = [
  {
    name: "a customer's last order",
    needs: { orders: ORDERS_COLUMNS, customers: ['id', 'name', 'email'], products: ['id', 'name'] },
    needsName: true,
    matches: (q) =>
      (/\b(last|latest|most recent|newest)\b/i.test(q) && ORDER_WORDS.test(q)) || /\bwhen did\b.*\b(buy|order|purchase)/i.test(q),
    sql: (name) =>
      `SELECT o.id AS order_id, o.ordered_at, p.name AS product, o.amount_usd, c.email AS customer_email
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN products p ON p.id = o.product_id
WHERE c.name ILIKE ${name}
ORDER BY o.ordered_at DESC
LIMIT 1`,
  },
  {
    name: 'total spent by a customer',
    needs: { orders: ['customer_id', 'amount_usd'], customers: ['id', 'name'] },
    needsName: true,
    matches: (q) => /\b(total|how much|spent|spend|spending)\b/i.test(q),
    sql: (name) =>
      `SELECT c.name AS customer, count(o.id) AS orders, coalesce(sum(o.amount_usd), 0) AS total_spent_usd
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
WHERE c.name ILIKE ${name}
GROUP BY c.id, c.name`,
  },
  {
    name: "a customer's orders",
    needs: { orders: [...ORDERS_COLUMNS, 'quantity', 'status'], customers: ['id', 'name'], products: ['id', 'name'] },
    needsName: true,
    matches: (q) => ORDER_WORDS.test(q),
    sql: (name) =>
      `SELECT o.id AS order_id, o.ordered_at, p.name AS product, o.quantity, o.amount_usd, o.status
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN products p ON p.id = o.product_id
WHERE c.name ILIKE ${name}
ORDER BY o.ordered_at DESC
LIMIT 100`,
  },
  {
    name: 'orders per product category',
    needs: { orders: ['id', 'product_id', 'quantity', 'amount_usd'], products: ['id', 'category'] },
    needsName: false,
    matches: (q) => /\b(categor(y|ies))\b/i.test(q) && /\b(orders?|ordered|sold|sales|revenue|units|bought)\b/i.test(q),
    sql: () =>
      `SELECT p.category, count(o.id) AS orders, coalesce(sum(o.quantity), 0) AS units, coalesce(sum(o.amount_usd), 0) AS revenue_usd
FROM products p
LEFT JOIN orders o ON o.product_id = p.id
GROUP BY p.category
ORDER BY orders DESC, p.category`,
  },
  {
    name: 'products per category',
    needs: { products: ['category'] },
    needsName: false,
    matches: (q) => /\b(categor(y|ies))\b/i.test(q),
    sql: () => `SELECT category, count(*) AS products
FROM products
GROUP BY category
ORDER BY products DESC, category`,
  },
  {
    name: 'orders per product',
    needs: { orders: ['id', 'product_id', 'quantity', 'amount_usd'], products: ['id', 'name'] },
    needsName: false,
    matches: (q) =>
      /\b(per|by|each|every)\s+product\b|\bproducts?\b.*\b(most|best|popular|sold|sales)\b|\b(most|best|popular)\b.*\bproducts?\b/i.test(q) ||
      (/\b(how many|count|number of)\b/i.test(q) && /\bproducts?\b/i.test(q) && ORDER_WORDS.test(q)),
    sql: () =>
      `SELECT p.name AS product, count(o.id) AS orders, coalesce(sum(o.quantity), 0) AS units, coalesce(sum(o.amount_usd), 0) AS revenue_usd
FROM products p
LEFT JOIN orders o ON o.product_id = p.id
GROUP BY p.id, p.name
ORDER BY orders DESC, p.name`,
  },
  {
    name: 'list of customers',
    needs: { customers: ['id', 'name', 'email', 'city', 'tier'] },
    needsName: false,
    matches: (q) => /\bcustomers\b/i.test(q) || /\b(list|show|all|who are)\b.*\bcustomer/i.test(q),
    sql: () => `SELECT id, name, email, city, tier
FROM customers
ORDER BY name
LIMIT 100`,
  },
];

const QUESTION_WORDS = /^(What|When|Where|Who|Why|How|Which|Is|Are|Can|Could|Does|Did|Do|Show|List|Tell|Please|Find|Give)$/;

/**
 * A person's or company's name in the question: the first run of two or more capitalised
 * words ("Emily Doe's" → "Emily Doe"), ignoring a question word that starts the sentence.
 */
export function customerName(question: string): string | undefined {
  for (const match of question.matchAll(/\p{Lu}[\p{L}'’-]*(?:\s+\p{Lu}[\p{L}'’-]*)+/gu)) {
    const words = match[0].split(/\s+/);
    if (QUESTION_WORDS.test(words[0]!)) words.shift();
    if (words.length >= 2) return words.join(' ').replace(/['’]s$/u, '');
  }
  return undefined;
}

/** A string literal for ILIKE that matches the name exactly (case aside): quotes doubled, wildcards escaped. */
export function ilikeLiteral(value: string): string {
  const pattern = value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
  return `'${pattern.replaceAll("'", "''")}'`;
}

function missingFrom(rule: Rule, tables: SqlTableSummary[]): string[] {
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(rule.needs)) {
    const found = tables.find((t) => t.name === table);
    if (!found) missing.push(table);
    else for (const c of columns) if (!found.columns.some((col) => col.name === c)) missing.push(`${table}.${c}`);
  }
  return missing;
}

const SCOPE =
  "a customer's last order, a customer's orders, the total a customer spent, orders per product or category, products per category, and the list of customers";

export function writeSqlWithRules(question: string, tables: SqlTableSummary[]): SqlReply {
  const rule = RULES.find((r) => r.matches(question) && (!r.needsName || customerName(question)));
  if (!rule) {
    const namedRule = RULES.find((r) => r.needsName && r.matches(question));
    return {
      sql: null,
      reason: namedRule
        ? `the offline rule-based SQL writer recognised "${namedRule.name}" but found no customer name (capitalised first and last name) in the question`
        : `the offline rule-based SQL writer only handles ${SCOPE}; configure a language model (OPENAI_BASE_URL) for other questions`,
    };
  }
  const missing = missingFrom(rule, tables);
  if (missing.length) {
    return { sql: null, reason: `the offline rule-based SQL writer's query for "${rule.name}" needs ${missing.join(', ')}, which the schema shown does not have` };
  }
  const name = customerName(question);
  return { sql: rule.sql(name ? ilikeLiteral(name) : ''), reason: `offline rule-based SQL writer: ${rule.name}` };
}

/** The local model's text-to-SQL reply, as the JSON string a remote model would send. */
export function runLocalSqlTask(task: { question: string; tables: SqlTableSummary[] }): string {
  return JSON.stringify(writeSqlWithRules(task.question, task.tables));
}
