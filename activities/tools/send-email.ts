// send_email: queues an email in the outbox, in the ledger's transaction, so it is queued
// exactly once. With an SMTP relay configured (SMTP_URL), the queued email is handed to it
// right after the commit; without one it waits in the outbox, visible.
import { z } from 'zod';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import type { EmailDelivery } from './email-delivery.js';
import type { ToolContext, ToolDefinition } from './types.js';

export const sendEmailParameters = z.object({
  to: z.email().describe('Recipient address'),
  subject: z.string().min(1).max(200),
  body: z.string().min(1).max(10_000),
});

export function sendEmailTool(delivery?: EmailDelivery): ToolDefinition<typeof sendEmailParameters> {
  return {
    name: 'send_email',
    description: 'Send an email. Needs human approval before it is sent.',
    parameters: sendEmailParameters,
    kind: 'write',
    async preview(args, ctx) {
      const known = await isKnownCustomer(ctx, args.to);
      return {
        summary: `Email ${args.to}: "${args.subject}"`,
        changes: {
          email: { to: args.to, subject: args.subject, body: args.body },
          recipient: known ? 'a customer on record' : 'NOT a customer on record — check before approving',
          delivery: delivery ? 'sent through the SMTP relay once approved' : 'queued in the outbox (no SMTP relay configured)',
        },
      };
    },
    async execute(args, ctx) {
      const { rows } = await ctx.tx.query<{ id: string }>(
        `INSERT INTO outbox (tenant_id, idempotency_key, to_address, subject, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = excluded.idempotency_key
         RETURNING id`,
        [ctx.tenantId, ctx.idempotencyKey, args.to, args.subject, args.body],
      );
      return { content: { outboxId: Number(rows[0]!.id), status: 'queued', to: args.to }, summary: `email to ${args.to} queued (outbox #${rows[0]!.id})` };
    },
    ...(delivery ? { afterCommit: (result: unknown) => delivery.deliver((result as { outboxId: number }).outboxId) } : {}),
  };
}

async function isKnownCustomer(ctx: ToolContext, address: string): Promise<boolean> {
  try {
    const { rowCount } = await ctx.db.query(`SELECT 1 FROM ${quoteIdent(tenantSchema(ctx.tenantId))}.customers WHERE lower(email) = lower($1)`, [address]);
    return (rowCount ?? 0) > 0;
  } catch {
    return false; // the tenant has no customers table
  }
}
