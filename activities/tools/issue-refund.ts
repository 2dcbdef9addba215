// issue_refund (demo domain): refunds part or all of an order; over $500 it needs two
// approvers. Its compensation reverses the refund, for an operator who finds it was issued in
// error.
import { z } from 'zod';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import type { Db, DbClient } from '../../infra/db/pool.js';
import { ONE_APPROVER, TWO_APPROVERS } from './risk.js';
import { InvalidToolArguments, type ToolDefinition } from './types.js';

/** Refunds above this many dollars are high-risk: two people approve them. */
export const HIGH_RISK_REFUND_USD = 500;

export const issueRefundParameters = z.object({
  orderId: z.number().int().positive().describe('The order to refund'),
  amountUsd: z.number().positive().max(100_000).describe('Amount to refund in US dollars'),
  reason: z.string().min(3).max(500),
});

interface OrderFacts {
  order_id: number;
  customer: string;
  email: string;
  product: string;
  amount_usd: string;
  refunded_usd: string;
}

async function orderFacts(db: Db | DbClient, tenantId: string, orderId: number): Promise<OrderFacts> {
  const s = quoteIdent(tenantSchema(tenantId));
  const { rows } = await db.query<OrderFacts>(
    `SELECT o.id AS order_id, c.name AS customer, c.email, p.name AS product, o.amount_usd::text,
            coalesce((SELECT sum(r.amount_usd) FROM ${s}.refunds r WHERE r.order_id = o.id AND r.status = 'issued'), 0)::text AS refunded_usd
     FROM ${s}.orders o JOIN ${s}.customers c ON c.id = o.customer_id JOIN ${s}.products p ON p.id = o.product_id
     WHERE o.id = $1`,
    [orderId],
  );
  if (!rows[0]) throw new InvalidToolArguments(`order ${orderId} does not exist`);
  return rows[0];
}

export const issueRefundTool: ToolDefinition<typeof issueRefundParameters> = {
  name: 'issue_refund',
  description: 'Refund an order, in full or in part. Needs human approval.',
  parameters: issueRefundParameters,
  kind: 'write',
  risk: (args) => (args.amountUsd > HIGH_RISK_REFUND_USD ? TWO_APPROVERS : ONE_APPROVER),
  async preview(args, ctx) {
    const o = await orderFacts(ctx.db, ctx.tenantId, args.orderId);
    const refundable = Number(o.amount_usd) - Number(o.refunded_usd);
    if (args.amountUsd > refundable + 1e-9) {
      throw new InvalidToolArguments(`order ${args.orderId} has $${refundable.toFixed(2)} left to refund; $${args.amountUsd.toFixed(2)} was asked`);
    }
    return {
      summary: `Refund $${args.amountUsd.toFixed(2)} on order ${o.order_id} (${o.customer}, ${o.product})`,
      changes: {
        table: 'refunds',
        insert: { order_id: o.order_id, amount_usd: args.amountUsd.toFixed(2), reason: args.reason, status: 'issued' },
        order: { id: o.order_id, customer: o.customer, email: o.email, product: o.product, amountUsd: o.amount_usd },
        refundedBefore: o.refunded_usd,
        refundedAfter: (Number(o.refunded_usd) + args.amountUsd).toFixed(2),
      },
    };
  },
  async execute(args, ctx) {
    const o = await orderFacts(ctx.tx, ctx.tenantId, args.orderId);
    if (args.amountUsd > Number(o.amount_usd) - Number(o.refunded_usd) + 1e-9) {
      throw new InvalidToolArguments(`order ${args.orderId} no longer has $${args.amountUsd.toFixed(2)} left to refund`);
    }
    const s = quoteIdent(tenantSchema(ctx.tenantId));
    const { rows } = await ctx.tx.query<{ id: number }>(
      `INSERT INTO ${s}.refunds (order_id, amount_usd, reason, idempotency_key) VALUES ($1, $2, $3, $4) RETURNING id`,
      [args.orderId, args.amountUsd, args.reason, ctx.idempotencyKey],
    );
    const refundId = rows[0]!.id;
    return {
      content: { refundId, orderId: args.orderId, amountUsd: args.amountUsd.toFixed(2), customer: o.customer, email: o.email },
      summary: `refund #${refundId}: $${args.amountUsd.toFixed(2)} on order ${args.orderId}`,
    };
  },
  compensation: {
    description: 'Reverse the refund (marks it reversed).',
    async execute(_args, result, ctx) {
      const { refundId } = result as { refundId: number };
      const s = quoteIdent(tenantSchema(ctx.tenantId));
      const { rowCount } = await ctx.tx.query(`UPDATE ${s}.refunds SET status = 'reversed', reversed_at = now() WHERE id = $1 AND status = 'issued'`, [refundId]);
      return { content: { refundId, reversed: (rowCount ?? 0) > 0 }, summary: `refund #${refundId} reversed` };
    },
  },
};
