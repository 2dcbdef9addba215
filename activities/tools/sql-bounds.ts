// What keeps a query the SQL guard accepts (sql-guard.ts) from running long or growing huge.
// PGlite, the embedded default, runs in the same process as the API and the worker and has no
// statement timeout (WASM Postgres has no timer signals): a query that runs 10 s freezes the
// whole service for 10 s. The executor's planner-cost ceiling (query-sql.ts) bounds the rows a
// plan reads — when the planner can see them. These rules refuse what it cannot see: rows from
// a function whose arguments are not constants, frames a window function recomputes per row,
// strings a function pads or rewrites to any length, regular expressions that backtrack.
// Where a bound cannot be proven from the text, the construct is refused.

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A numeric literal (possibly negative, possibly cast), or undefined when the node is anything else. */
export function numericLiteral(node: unknown): number | undefined {
  if (!isObject(node)) return undefined;
  if (isObject(node.TypeCast)) return numericLiteral(node.TypeCast.arg);
  const c = node.A_Const;
  if (!isObject(c) || c.isnull) return undefined;
  if (isObject(c.ival)) return Number(c.ival.ival ?? 0);
  if (isObject(c.fval)) return Number(c.fval.fval);
  return undefined;
}

/** A string literal ('…', E'…', U&'…', $$…$$; possibly cast), or undefined. */
export function stringLiteral(node: unknown): string | undefined {
  if (!isObject(node)) return undefined;
  if (isObject(node.TypeCast)) return stringLiteral(node.TypeCast.arg);
  const c = node.A_Const;
  if (!isObject(c) || !isObject(c.sval)) return undefined;
  return String(c.sval.sval ?? '');
}

const isLiteral = (node: unknown) => numericLiteral(node) !== undefined || stringLiteral(node) !== undefined;

/** Rows one generate_series call may produce: cheap for the planner to cost, cheap to run anywhere. */
export const MAX_SERIES_ROWS = 10_000;
/** lpad/rpad lengths and format() widths: enough for any report, too little to fill memory. */
export const MAX_PAD_LENGTH = 1_000;
/** A regular expression's text; patterns in analytical queries are short. */
export const MAX_PATTERN_LENGTH = 200;
/** ROWS n PRECEDING/FOLLOWING: each row's frame is recomputed, so n multiplies the work. */
export const MAX_FRAME_OFFSET = 100;

/**
 * generate_series only over integer or numeric literals with at most MAX_SERIES_ROWS values.
 * With non-constant arguments the planner guesses 1000 rows whatever the bound; the timestamp
 * form steps through an interval we would have to evaluate to count.
 */
function checkSeries(args: unknown[], refuse: (reason: string) => never): void {
  const [start, stop, step = 1] = args.map(numericLiteral);
  if (args.length < 2 || args.length > 3 || start === undefined || stop === undefined || step === undefined) {
    refuse(`generate_series() takes only number literals here (e.g. generate_series(1, 12)); for dates add an integer series to a date: date '2026-01-01' + g`);
  }
  const rows = step === 0 ? Infinity : Math.floor((stop - start) / step) + 1;
  if (!(rows <= MAX_SERIES_ROWS)) refuse(`generate_series() may produce at most ${MAX_SERIES_ROWS} rows; this one produces ${Number.isFinite(rows) ? rows : 'unboundedly many'}`);
}

/** unnest only of a literal array: of a computed one (array_agg) the planner guesses 100 rows whatever its size. */
function checkUnnest(args: unknown[], refuse: (reason: string) => never): void {
  const literalArray = (node: unknown) =>
    stringLiteral(node) !== undefined ||
    (isObject(node) && isObject(node.A_ArrayExpr) && (Array.isArray(node.A_ArrayExpr.elements) ? node.A_ArrayExpr.elements : []).every(isLiteral));
  if (!args.length || !args.every(literalArray)) refuse("unnest() takes only a literal array here (ARRAY['a', 'b'] or '{a,b}'): the planner cannot bound the rows of a computed one");
}

function checkPad(name: string, args: unknown[], refuse: (reason: string) => never): void {
  const length = numericLiteral(args[1]);
  if (length === undefined || length > MAX_PAD_LENGTH) refuse(`${name}() takes a number literal up to ${MAX_PAD_LENGTH} as its length`);
  if (args[2] !== undefined && !isLiteral(args[2])) refuse(`${name}() takes a literal fill text`);
}

/** format(): a literal format string whose widths are literal and small ('%*s' takes its width from an argument). */
function checkFormat(args: unknown[], refuse: (reason: string) => never): void {
  const spec = stringLiteral(args[0]);
  if (spec === undefined) refuse('format() takes a literal format string');
  for (const [, width] of spec!.matchAll(/%(?:\d+\$)?-?(\*|\d+)?/g)) {
    if (width === '*') refuse('format() widths must be written in the format string, not taken from an argument (%*s)');
    if (width !== undefined && Number(width) > MAX_PAD_LENGTH) refuse(`format() widths may be at most ${MAX_PAD_LENGTH}`);
  }
}

/**
 * A regular expression PostgreSQL can match without runaway backtracking: a short literal with no
 * back-references, no quantified group that itself contains a quantifier ((a+)+, ((a|b)*)*), and
 * no stacked or large bounded repetitions. PostgreSQL's engine is mostly a DFA, but
 * back-references and nested quantifiers send it to its backtracking path, where the time grows
 * exponentially with the input.
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `a regular expression may be at most ${MAX_PATTERN_LENGTH} characters`;
  if (/\\[1-9]/.test(pattern)) return 'back-references (\\1) in regular expressions are not allowed';
  if (/\{\s*\d*\s*,?\s*(\d{3,})\s*\}/.test(pattern)) return 'bounded repetitions {n,m} in regular expressions may be at most 99';
  if (/[*+?}]\s*\{|\}\s*[*+{]/.test(pattern)) return 'stacked repetitions (a{2}{3}, a{2}*) in regular expressions are not allowed';
  // A group that contains a quantifier and is itself quantified. Escaped characters and bracket
  // expressions are blanked first so that \( and [(] do not count as groups.
  const plain = pattern.replace(/\\./g, '_').replace(/\[(\^)?\]?[^\]]*\]/g, '_');
  const open: boolean[] = [];
  for (let i = 0; i < plain.length; i++) {
    const ch = plain[i]!;
    if (ch === '(') open.push(false);
    else if (ch === ')') {
      const quantifiedInside = open.pop() ?? false;
      const quantifiedAfter = /[*+?{]/.test(plain[i + 1] ?? '');
      if (quantifiedInside && quantifiedAfter) return 'nested quantifiers ((a+)+, ((a|b)*)*) in regular expressions are not allowed';
      if (open.length && (quantifiedInside || quantifiedAfter)) open[open.length - 1] = true;
    } else if (/[*+?{]/.test(ch) && open.length) open[open.length - 1] = true;
  }
  return undefined;
}

function checkPattern(what: string, node: unknown, refuse: (reason: string) => never): void {
  const pattern = stringLiteral(node);
  if (pattern === undefined) refuse(`${what} takes a literal pattern`);
  const problem = regexProblem(pattern!);
  if (problem) refuse(problem);
}

/** Functions whose pattern argument is a regular expression, and its position. */
const REGEX_FUNCTIONS: Record<string, number> = {
  regexp_replace: 1, regexp_match: 1, regexp_like: 1, regexp_count: 1, regexp_substr: 1, similar_to_escape: 0,
};

/** Regular-expression operators: ~ and its case-insensitive and negated forms. */
export const REGEX_OPERATORS: ReadonlySet<string> = new Set(['~', '~*', '!~', '!~*']);

/**
 * The argument bounds of one allow-listed function call. replace() and regexp_replace() take
 * literals after their input, so nested calls grow a value by a factor the text shows, and
 * regexp_replace() may not rewrite another rewrite (an empty match inserts at every position).
 */
export function checkCallBounds(name: string, node: Json, refuse: (reason: string) => never): void {
  const args = Array.isArray(node.args) ? node.args : [];
  if (name === 'generate_series') checkSeries(args, refuse);
  if (name === 'unnest') checkUnnest(args, refuse);
  if (name === 'lpad' || name === 'rpad') checkPad(name, args, refuse);
  if (name === 'format') checkFormat(args, refuse);
  if (name in REGEX_FUNCTIONS) checkPattern(`${name}()`, args[REGEX_FUNCTIONS[name]!], refuse);
  // substring(text FROM pattern) is a regular expression; substring(text FROM 1 FOR 3) is not.
  if (name === 'substring' && args.length === 2 && numericLiteral(args[1]) === undefined) checkPattern('substring(… FROM pattern)', args[1], refuse);
  if (name === 'replace' || name === 'regexp_replace') {
    if (!args.slice(1).every(isLiteral)) refuse(`${name}() takes literals for everything after its input`);
    if (name === 'regexp_replace' && JSON.stringify(args[0] ?? null).includes('"regexp_replace"')) refuse('regexp_replace() may not rewrite the result of another regexp_replace()');
    const from = stringLiteral(args[1]) ?? '';
    const to = stringLiteral(args[2]) ?? '';
    if (name === 'replace' && to.length > Math.max(from.length, 1) && JSON.stringify(args[0] ?? null).includes('"replace"')) {
      refuse('a replace() that lengthens its input may not take the result of another replace()');
    }
  }
  // An aggregate whose state grows with every row, used as a window function, hands a copy of
  // that state to every row: quadratic in the partition whatever the planner says.
  if (node.over && GROWING_AGGREGATES.has(name)) refuse(`${name}() may not be used as a window function (OVER): it copies a growing value for every row`);
}

export const GROWING_AGGREGATES: ReadonlySet<string> = new Set(['string_agg', 'array_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg']);

// PostgreSQL's FRAMEOPTION_* bits (src/include/nodes/parsenodes.h).
const FRAME = {
  NONDEFAULT: 0x1, ROWS: 0x4, START_UNBOUNDED_PRECEDING: 0x20, END_UNBOUNDED_FOLLOWING: 0x100,
  START_CURRENT_ROW: 0x200, END_CURRENT_ROW: 0x400, START_OFFSET: 0x800 | 0x2000, END_OFFSET: 0x1000 | 0x4000,
  EXCLUDE: 0x8000 | 0x10000 | 0x20000,
};

/**
 * Window frames PostgreSQL computes incrementally. With the frame's start fixed at UNBOUNDED
 * PRECEDING (the default) each row adds to the previous result; a frame whose start moves
 * (CURRENT ROW AND UNBOUNDED FOLLOWING, RANGE offsets) or that EXCLUDEs rows is recomputed from
 * scratch for each row by aggregates without an inverse (max, min, string_agg…): quadratic work
 * the planner costs as linear. A short ROWS frame (n PRECEDING … CURRENT ROW) is bounded by n.
 */
export function checkWindowFrame(def: Json, refuse: (reason: string) => never): void {
  const options = Number(def.frameOptions ?? 0);
  if (!(options & FRAME.NONDEFAULT)) return;
  if (options & FRAME.EXCLUDE) refuse('EXCLUDE in a window frame is not allowed: the frame is recomputed for every row');
  if (options & FRAME.START_UNBOUNDED_PRECEDING) {
    if (options & FRAME.END_OFFSET) checkFrameOffset(def.endOffset, options, refuse);
    return;
  }
  const startOk = options & (FRAME.START_CURRENT_ROW | FRAME.START_OFFSET);
  const endOk = options & (FRAME.END_CURRENT_ROW | FRAME.END_OFFSET);
  if (!startOk || !endOk) {
    refuse('a window frame must start at UNBOUNDED PRECEDING, or be a short ROWS frame (ROWS BETWEEN 2 PRECEDING AND CURRENT ROW): a frame that ends at UNBOUNDED FOLLOWING with a moving start is recomputed for every row');
  }
  if (options & FRAME.START_OFFSET) checkFrameOffset(def.startOffset, options, refuse);
  if (options & FRAME.END_OFFSET) checkFrameOffset(def.endOffset, options, refuse);
}

function checkFrameOffset(offset: unknown, options: number, refuse: (reason: string) => never): void {
  const n = numericLiteral(offset);
  if (!(options & FRAME.ROWS) || n === undefined || n > MAX_FRAME_OFFSET) {
    refuse(`window frame offsets must be ROWS with a number literal up to ${MAX_FRAME_OFFSET} (RANGE and GROUPS offsets can span any number of rows)`);
  }
}
