// update_record: a parameterised UPDATE of one row, by id, in the tenant's schema — only the
// tables and columns the deployment allow-lists (AGENT_UPDATABLE_COLUMNS). The preview shows
// the row's columns before and after; the compensation writes the "before" values back.
import { z } from 'zod';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import type { Db, DbClient } from '../../infra/db/pool.js';
import { InvalidToolArguments, type ToolDefinition } from './types.js';

export const updateRecordParameters = z.object({
  table: z.string().min(1).max(63),
  id: z.union([z.number().int(), z.string().min(1).max(200)]).describe('The primary key (id column) of the row'),
  changes: z
    .record(z.string(), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
    .refine((c) => Object.keys(c).length > 0, 'at least one column to change'),
});
type UpdateArgs = z.infer<typeof updateRecordParameters>;

export function updateRecordTool(allowed: Record<string, string[]>): ToolDefinition<typeof updateRecordParameters> {
  const allowedText = Object.entries(allowed).map(([t, cols]) => `${t} (${cols.join(', ')})`).join('; ');

  function check(args: UpdateArgs): string[] {
    const columns = allowed[args.table];
    if (!columns) throw new InvalidToolArguments(`table "${args.table}" cannot be updated; allowed: ${allowedText}`);
    const bad = Object.keys(args.changes).filter((c) => !columns.includes(c));
    if (bad.length) throw new InvalidToolArguments(`column(s) ${bad.join(', ')} of ${args.table} cannot be updated; allowed: ${columns.join(', ')}`);
    return Object.keys(args.changes);
  }

  async function currentRow(db: Db | DbClient, tenantId: string, args: UpdateArgs, columns: string[], lock: boolean) {
    const s = quoteIdent(tenantSchema(tenantId));
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${s}.${quoteIdent(args.table)} WHERE id::text = $1::text${lock ? ' FOR UPDATE' : ''}`,
      [args.id],
    );
    if (!rows[0]) throw new InvalidToolArguments(`${args.table} ${args.id} does not exist`);
    return rows[0];
  }

  async function write(tx: DbClient, tenantId: string, args: UpdateArgs, values: Record<string, unknown>) {
    const s = quoteIdent(tenantSchema(tenantId));
    const columns = Object.keys(values);
    await tx.query(
      `UPDATE ${s}.${quoteIdent(args.table)} SET ${columns.map((c, i) => `${quoteIdent(c)} = $${i + 2}`).join(', ')} WHERE id::text = $1::text`,
      [args.id, ...columns.map((c) => values[c])],
    );
  }

  return {
    name: 'update_record',
    description: `Change columns of one row, by id. Allowed: ${allowedText}. Needs human approval.`,
    parameters: updateRecordParameters,
    kind: 'write',
    async preview(args, ctx) {
      const columns = check(args);
      const before = await currentRow(ctx.db, ctx.tenantId, args, columns, false);
      return {
        summary: `Update ${args.table} ${args.id}: ${columns.map((c) => `${c} ${JSON.stringify(before[c])} → ${JSON.stringify(args.changes[c])}`).join(', ')}`,
        changes: { table: args.table, id: args.id, before, after: { ...before, ...args.changes } },
      };
    },
    async execute(args, ctx) {
      const columns = check(args);
      const before = await currentRow(ctx.tx, ctx.tenantId, args, columns, true);
      await write(ctx.tx, ctx.tenantId, args, args.changes);
      return { content: { table: args.table, id: args.id, before, after: args.changes }, summary: `${args.table} ${args.id} updated (${columns.join(', ')})` };
    },
    compensation: {
      description: 'Write the values from before the update back.',
      async execute(args, result, ctx) {
        const { before } = result as { before: Record<string, unknown> };
        await write(ctx.tx, ctx.tenantId, args, before);
        return { content: { table: args.table, id: args.id, restored: before }, summary: `${args.table} ${args.id} restored` };
      },
    },
  };
}
