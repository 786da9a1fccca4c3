/** Case-sync settings for tests, from raw settings as an operator would give them; throws on a problem. */
import { parseCaseSyncSettings, type CaseSyncSettings } from '../../processors/domain/case-sync-settings.js';

export function caseSyncSettingsOf(raw: Record<string, string> = {}): CaseSyncSettings {
  const r = parseCaseSyncSettings(raw);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.settings;
}
