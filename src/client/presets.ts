/**
 * The built-in permission presets, re-exported from the shared engine (one definition for client
 * and server). Stricter than the Python SDK's: read-only, development and view-only hide secrets too.
 */
export {
  BUILTIN_PRESET_NAMES,
  extendPreset,
  getPreset,
  isBuiltinPreset,
  presetDescription,
  type BuiltinPresetName,
  type PresetExtension,
} from '../shared/presets';
