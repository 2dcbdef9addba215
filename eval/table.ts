// The comparison as a terminal table: metric, baseline, now, delta, tolerance, ok — grouped by
// suite, columns padded so it reads in a CI log as well as in a terminal.
import type { ComparisonRow } from './compare.js';

const num = (v: number | null | undefined) => (v === undefined ? '—' : v === null ? 'n/a' : v.toFixed(4));
const signed = (v: number | undefined) => (v === undefined ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(4)}`);
/** How far it may move, and which way is the wrong way. */
const tolerance = (r: ComparisonRow) => (r.tolerance === 0 ? '0' : `${r.better === 'higher' ? '−' : '+'}${r.tolerance.toFixed(4)}`);
const verdict: Record<ComparisonRow['status'], string> = {
  ok: 'ok',
  improved: 'ok (better)',
  new: 'new (no baseline)',
  regressed: 'REGRESSED',
  missing: 'MISSING (in the baseline, not in this run)',
  'no value': 'NO VALUE',
};

export function formatComparison(rows: readonly ComparisonRow[]): string {
  const header = ['metric', 'baseline', 'now', 'delta', 'tolerance', 'ok'];
  const body = rows.map((r) => [`${r.id} (${r.better === 'higher' ? '↑' : '↓'})`, num(r.baseline), num(r.now), signed(r.delta), tolerance(r), verdict[r.status]]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '─'.repeat(w)).join('  ')];
  let suite: string | undefined;
  rows.forEach((r, i) => {
    if (suite !== undefined && r.suite !== suite) out.push('');
    suite = r.suite;
    out.push(line(body[i]!));
  });
  return out.join('\n');
}
