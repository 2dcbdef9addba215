// Delivering queued emails from the outbox through an SMTP relay (SMTP_URL). The approval gate
// guards the *queueing* (exactly once, in the ledger's transaction); delivery follows the
// commit and is retried until the row is marked sent. Each email carries a Message-ID derived
// from its idempotency key, so a retry after a crash between sending and marking — the one
// window where a second copy can go out — is recognisable as the same message downstream.
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Db } from '../../infra/db/pool.js';

export interface EmailDelivery {
  deliver(outboxId: number): Promise<{ status: 'sent' | 'already_sent'; messageId: string }>;
}

export function smtpDelivery(db: Db, opts: { url: string; from: string }): EmailDelivery {
  const transport = nodemailer.createTransport(opts.url);
  return {
    async deliver(outboxId) {
      const { rows } = await db.query<{ idempotency_key: string; to_address: string; subject: string; body: string; status: string }>(
        'SELECT idempotency_key, to_address, subject, body, status FROM outbox WHERE id = $1',
        [outboxId],
      );
      const email = rows[0];
      if (!email) throw new Error(`outbox email ${outboxId} does not exist`);
      const messageId = `<${createHash('sha256').update(email.idempotency_key).digest('hex').slice(0, 32)}@gatehouse>`;
      if (email.status === 'sent') return { status: 'already_sent', messageId };
      await transport.sendMail({ from: opts.from, to: email.to_address, subject: email.subject, text: email.body, messageId });
      await db.query(`UPDATE outbox SET status = 'sent', sent_at = now() WHERE id = $1 AND status <> 'sent'`, [outboxId]);
      return { status: 'sent', messageId };
    },
  };
}
