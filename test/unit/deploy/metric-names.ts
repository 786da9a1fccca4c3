/**
 * Metric names for the deploy checks: the names the code declares (found by scanning the sources for prom-client
 * `new Counter|Gauge|Histogram|Summary({ name: '...' })`), and the metric names a PromQL expression selects.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Folders of production code (not tests, not scripts). */
const SOURCE_DIRS = ['topology', 'stores', 'processors', 'api', 'kafka', 'cli', 'common'];

const DECLARATION =
  /new\s+(Counter|Gauge|Histogram|Summary)\b[^(]*\(\s*\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g;

export interface DeclaredMetrics {
  /** name -> instrument type */
  readonly byName: ReadonlyMap<string, string>;
  /** Names a query may select: every declared name, a histogram's _bucket/_sum/_count, and `up`. */
  readonly selectable: ReadonlySet<string>;
}

export function declaredMetrics(root = '.'): DeclaredMetrics {
  const byName = new Map<string, string>();
  for (const dir of SOURCE_DIRS) {
    const files = readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'),
    );
    for (const file of files) {
      const text = readFileSync(path.join(root, dir, file), 'utf8');
      for (const m of text.matchAll(DECLARATION)) byName.set(m[2]!, m[1]!);
    }
  }
  const selectable = new Set<string>(['up']);
  for (const [name, type] of byName) {
    selectable.add(name);
    if (type === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) selectable.add(name + s);
    if (type === 'Summary') for (const s of ['_sum', '_count']) selectable.add(name + s);
  }
  return { byName, selectable };
}

/** PromQL words that are not metric names when they are not followed by `(`. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
  'start',
  'end',
]);

/**
 * The metric names an expression selects. Strings, label matchers, range and subquery brackets, label lists of
 * by/without/on/ignoring/group_*, Grafana variables and numbers (1e3, 5m) are removed first; what remains of the
 * identifiers, less function and aggregation names (followed by `(`) and keywords, are metric names.
 */
export function selectedMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ' ')
    .replace(/@\s*(start|end)\s*\(\s*\)/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (/^\s*\(/.test(stripped.slice(m.index + word.length))) continue;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

/** Prometheus durations (model.ParseDuration): units in order y w d h m s ms, at least one; or "0". */
export function isPrometheusDuration(value: unknown): boolean {
  if (typeof value !== 'string' || value === '') return false;
  if (value === '0') return true;
  return /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/.test(value);
}

/** True when the parentheses, brackets and braces of an expression (outside strings) pair up. */
export function balanced(expr: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(c)) open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0;
}
