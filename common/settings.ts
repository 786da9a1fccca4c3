/** Parsing helpers shared by the settings parsers (service config and case-sync settings). */

/** An integer setting in [min, max], `def` when unset; a problem (naming the setting and the rule) otherwise. */
export function intSetting(
  raw: string | undefined,
  name: string,
  def: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return def;
  }
  return n;
}
