/** The SDK's permission presets, re-exported from the shared engine (one definition for client and server). */
export {
  BUILTIN_PRESET_NAMES,
  extendPreset,
  getPreset,
  isBuiltinPreset,
  presetDescription,
  type BuiltinPresetName,
  type PresetExtension,
} from '../shared/presets';
