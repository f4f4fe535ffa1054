import { loadConfig, SETTINGS, type Config, type SettingName } from '../../core/config.js';
import { isLcsError } from '../../core/errors.js';
import { fail, ok, type CheckResult } from './check.js';

const ID = 'settings';
const TITLE = 'Settings';

/** Settings doctor cannot do without: every command of the package needs the database. */
const REQUIRED: SettingName[] = ['supabaseDbUrl'];

export interface SettingsCheck {
  results: CheckResult[];
  /** Only the settings that are valid, so every other check can still run with what is usable. */
  config: Partial<Config>;
}

/**
 * Validates every setting with `loadConfig`; on failure, validates each variable alone so that each bad one gets
 * its own ✗ line with its fix and the good ones still reach the other checks.
 */
export function checkSettings(env: NodeJS.ProcessEnv, overrides: Partial<Record<SettingName, unknown>> = {}): SettingsCheck {
  try {
    const config = loadConfig(overrides, { env, required: REQUIRED });
    const set = (Object.keys(SETTINGS) as SettingName[]).filter((name) => isSet(env, overrides, name)).map((name) => SETTINGS[name].env);
    return { results: [ok(ID, TITLE, `${set.length} set and valid (${set.join(', ')})`)], config };
  } catch (error) {
    if (!isLcsError(error)) throw error;
  }

  const results: CheckResult[] = [];
  const usableEnv: NodeJS.ProcessEnv = {};
  const usableOverrides: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const single: NodeJS.ProcessEnv = env[spec.env] === undefined ? {} : { [spec.env]: env[spec.env] };
    const singleOverride = overrides[name] === undefined ? {} : { [name]: overrides[name] };
    try {
      loadConfig(singleOverride, { env: single, required: REQUIRED.includes(name) ? [name] : [] });
      if (single[spec.env] !== undefined) usableEnv[spec.env] = single[spec.env];
      Object.assign(usableOverrides, singleOverride);
    } catch (error) {
      if (!isLcsError(error)) throw error;
      results.push(problemLine(error.message));
    }
  }
  return { results, config: loadConfig(usableOverrides, { env: usableEnv }) };
}

function isSet(env: NodeJS.ProcessEnv, overrides: Partial<Record<SettingName, unknown>>, name: SettingName): boolean {
  const value = overrides[name] ?? env[SETTINGS[name].env];
  return value !== undefined && value !== null && value !== '';
}

/** loadConfig lists problems as `  - VARIABLE what is wrong. Fix: what to do`; one variable gives one line. */
function problemLine(message: string): CheckResult {
  const line = message.split('\n').find((text) => text.startsWith('  - '))?.slice(4) ?? message;
  const at = line.indexOf('. Fix: ');
  return at >= 0 ? fail(ID, TITLE, line.slice(0, at), line.slice(at + '. Fix: '.length)) : fail(ID, TITLE, line, 'see the message');
}
