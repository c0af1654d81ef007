// schemas/presets.schema.json, which gives .agentfense/presets.json and the agentfense.presets
// setting their completion, hovers and squiggles, against the extension's own parser of presets:
// the same documents must pass both or fail both, so the editor never marks what the extension
// accepts, or stays quiet about what it refuses. Also: package.json points VS Code at the
// schema, the setting carries the same shape, and the packaged extension holds the file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Ajv from 'ajv';
import { listFiles, PackageManager } from '@vscode/vsce';
import { buildPresetCatalog, parsePresetFile, PRESET_KEYS } from '../../src/core/presets/presetCatalog';
import { PATTERN_TYPES, PERMISSION_LEVELS, RULE_KEYS } from '../../src/shared/permissions';
import { BUILTIN_PRESET_NAMES, getPreset, presetDescription } from '../../src/shared/presets';

const ROOT = join(__dirname, '..', '..');
const SCHEMA_PATH = 'schemas/presets.schema.json';
const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as Record<string, unknown>;
const schema = readJson(SCHEMA_PATH);

// VS Code's own schema keywords: ajv must know them to stay strict about every other keyword,
// so a typo in the schema itself ("requried") fails here instead of silently checking nothing.
const VSCODE_KEYWORDS = [
  'markdownDescription',
  'markdownEnumDescriptions',
  'defaultSnippets',
  'errorMessage',
  'patternErrorMessage',
];
// strictRequired is the one strict check left off: "extends or a non-empty rules" is an anyOf of
// `required`s whose properties the preset object (one level up) defines, as JSON Schema allows.
const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
ajv.addVocabulary(VSCODE_KEYWORDS);
const validate = ajv.compile(schema);

/** What the extension makes of a presets file: the first error of its presets, or 'valid'. */
function parserVerdict(presets: unknown): string {
  const file = parsePresetFile(JSON.stringify(presets));
  if (file.error) return file.error;
  const errors = buildPresetCatalog({}, file.presets)
    .entries.filter((e) => e.source === 'workspace' && e.error)
    .map((e) => `${e.name}: ${e.error}`);
  return errors[0] ?? 'valid';
}

function schemaVerdict(presets: unknown): string {
  return validate(presets) ? 'valid' : ajv.errorsText(validate.errors);
}

const rule = (extra: Record<string, unknown> = {}) => ({
  pattern: '/docs/**',
  permission: 'write',
  priority: 20,
  ...extra,
});

/** Presets both must accept. */
const GOOD: Record<string, unknown> = {
  'an empty file': {},
  'a Docker preset': { py: { extends: 'development', runtime: 'docker', image: 'python:3.11-slim' } },
  'bubblewrap named': { host: { extends: 'agent-safe', runtime: 'bubblewrap' } },
  "the setting's own example": {
    name: { extends: 'agent-safe', rules: [{ pattern: '/docs/**', permission: 'write', priority: 20 }] },
  },
  'every rule field, each type': {
    all: {
      description: 'All the fields',
      rules: [
        { pattern: '**/*', permission: 'read' },
        { pattern: '/src/main.ts', permission: 'write', type: 'file', priority: -5 },
        { pattern: '/docs', permission: 'view', type: 'directory', priority: 2147483647 },
        { pattern: 'build/', permission: 'none', type: 'glob', priority: -2147483648 },
      ],
    },
  },
  'extends alone': { mine: { extends: 'read-only' } },
  'a network of allowed destinations and bundles': {
    mine: {
      extends: 'agent-safe',
      network: { allow: ['@npm', 'pypi.org:443', '*.github.com'], deny: ['evil.github.com'] },
    },
  },
  'network on and off': { a: { extends: 'agent-safe', network: 'on' }, b: { extends: 'development', network: 'off' } },
  'network on with a deny list': { a: { extends: 'read-only', network: { mode: 'on', deny: ['10.0.0.0/8'] } } },
  'extends another of yours': { base: { extends: 'development', rules: [rule()] }, mine: { extends: 'base' } },
  // What "Duplicate into Workspace Presets" writes for a built-in.
  'a duplicated built-in': {
    'agent-safe-copy': { extends: 'agent-safe', description: 'Based on agent-safe; add your rules below.', rules: [] },
  },
};
for (const name of BUILTIN_PRESET_NAMES) {
  GOOD[`a copy of ${name}, rule for rule`] = {
    [`my-${name}`]: { description: presetDescription(name), rules: getPreset(name) },
  };
  GOOD[`extends ${name}`] = { [`on-${name}`]: { extends: name } };
}

/** Presets both must refuse, with what the parser says (the schema's wording is VS Code's). */
const BAD: Record<string, { presets: unknown; parser: RegExp }> = {
  'a misspelled rule key': {
    presets: { docs: { extends: 'agent-safe', rules: [{ pattern: '/docs/**', permision: 'write', priority: 20 }] } },
    parser: /^docs: permission rule #1 \("\/docs\/\*\*"\): unknown property "permision" — did you mean "permission"\?$/,
  },
  'a misspelled preset key': {
    presets: { docs: { extends: 'agent-safe', rule: [rule()] } },
    parser: /unknown property "rule" — did you mean "rules"\?/,
  },
  'a key nothing resembles': {
    presets: { docs: { extends: 'agent-safe', notes: 'x' } },
    parser: /unknown property "notes" \(expected "extends", "description", "rules", "network", "runtime", "image"\)/,
  },
  'a runtime that is neither bubblewrap nor docker': {
    presets: { docs: { extends: 'agent-safe', runtime: 'podman', image: 'x:1' } },
    parser: /"runtime" must be "bubblewrap" or "docker"; got "podman"/,
  },
  'an image with a space in it': {
    presets: { docs: { extends: 'agent-safe', runtime: 'docker', image: 'python 3' } },
    parser: /"image" must be a Docker image reference/,
  },
  'a network that is neither off, on nor an object': {
    presets: { docs: { extends: 'agent-safe', network: 'partly' } },
    parser: /"network" must be "off", "on" or/,
  },
  'a network allow that is not a list': {
    presets: { docs: { extends: 'agent-safe', network: { allow: 'pypi.org' } } },
    parser: /"network.allow" must be a list of destinations/,
  },
  'a network key nothing knows': {
    presets: { docs: { extends: 'agent-safe', network: { allowed: ['pypi.org'] } } },
    parser: /"network" has no "allowed"/,
  },
  'an unknown rule key': {
    presets: { docs: { rules: [rule({ comment: 'why' })] } },
    parser: /unknown property "comment"/,
  },
  'an unknown permission': {
    presets: { docs: { rules: [rule({ permission: 'execute' })] } },
    parser: /unknown permission "execute"/,
  },
  'an unknown pattern type': {
    presets: { docs: { rules: [rule({ type: 'regex' })] } },
    parser: /unknown pattern type "regex"/,
  },
  'a fractional priority': {
    presets: { docs: { rules: [rule({ priority: 1.5 })] } },
    parser: /priority must be a 32-bit integer/,
  },
  'a priority in quotes': {
    presets: { docs: { rules: [rule({ priority: '3' })] } },
    parser: /priority must be a 32-bit integer/,
  },
  'a priority past int32': {
    presets: { docs: { rules: [rule({ priority: 2 ** 31 })] } },
    parser: /priority must be a 32-bit integer/,
  },
  'no pattern': {
    presets: { docs: { rules: [{ permission: 'read' }] } },
    parser: /pattern must be a non-empty string/,
  },
  'a blank pattern': {
    presets: { docs: { rules: [rule({ pattern: ' \t' })] } },
    parser: /pattern must be a non-empty string/,
  },
  'a NUL in the pattern': { presets: { docs: { rules: [rule({ pattern: '/a\0b' })] } }, parser: /NUL/ },
  'no permission': { presets: { docs: { rules: [{ pattern: '/a' }] } }, parser: /unknown permission undefined/ },
  'a rule that is not an object': { presets: { docs: { rules: ['/docs/**'] } }, parser: /must be an object/ },
  'rules that are not a list': { presets: { docs: { rules: rule() } }, parser: /"rules" must be an array/ },
  'a preset that is not an object': { presets: { docs: 3 }, parser: /must be an object/ },
  'a preset that is a list': { presets: { docs: [rule()] }, parser: /must be an object/ },
  'a file that is not an object': { presets: [{ docs: {} }], parser: /must be a JSON object/ },
  'a built-in name': { presets: { 'agent-safe': { extends: 'read-only' } }, parser: /built-in preset name/ },
  'neither rules nor extends': { presets: { docs: {} }, parser: /has no rules/ },
  'an empty rule list without extends': { presets: { docs: { rules: [] } }, parser: /has no rules/ },
  'extends that is not a name': { presets: { docs: { extends: 5 } }, parser: /"extends" must be a preset name/ },
  'an empty extends': { presets: { docs: { extends: '' } }, parser: /extends unknown preset ""/ },
  'a description that is not text': {
    presets: { docs: { extends: 'read-only', description: ['x'] } },
    parser: /"description" must be a string/,
  },
};

describe('schemas/presets.schema.json and the presets parser agree', () => {
  for (const [name, presets] of Object.entries(GOOD)) {
    test(`both accept ${name}`, () => {
      assert.equal(schemaVerdict(presets), 'valid', 'schema');
      assert.equal(parserVerdict(presets), 'valid', 'parser');
    });
  }

  for (const [name, { presets, parser }] of Object.entries(BAD)) {
    test(`both refuse ${name}`, () => {
      assert.notEqual(schemaVerdict(presets), 'valid', 'the schema must mark it');
      assert.match(parserVerdict(presets), parser);
    });
  }

  test('what only the parser can know: presets that extend one that does not exist, or each other', () => {
    // A schema sees one value at a time; names across presets are the parser's to check.
    const missing = { docs: { extends: 'agent-sfe' } };
    const cycle = { a: { extends: 'b' }, b: { extends: 'a' } };
    assert.equal(schemaVerdict(missing), 'valid');
    assert.match(parserVerdict(missing), /extends unknown preset "agent-sfe"/);
    assert.equal(schemaVerdict(cycle), 'valid');
    assert.match(parserVerdict(cycle), /cycle|invalid/);
  });

  test('the schema lists the names, keys and values the code knows', () => {
    const presetSchema = schema.additionalProperties as {
      properties: Record<
        string,
        {
          examples?: string[];
          items?: { properties: Record<string, { enum?: string[]; markdownEnumDescriptions?: string[] }> };
        }
      >;
    };
    const names = schema.propertyNames as { not: { enum: string[] } };
    assert.deepEqual(names.not.enum, [...BUILTIN_PRESET_NAMES], 'the names a preset of yours cannot take');
    assert.deepEqual(Object.keys(presetSchema.properties), [...PRESET_KEYS]);
    assert.deepEqual(
      [...presetSchema.properties.extends!.examples!].sort(),
      [...BUILTIN_PRESET_NAMES].sort(),
      'extends completes the built-ins',
    );
    const ruleProps = presetSchema.properties.rules!.items!.properties;
    assert.deepEqual(Object.keys(ruleProps), [...RULE_KEYS]);
    assert.deepEqual(ruleProps.permission!.enum, [...PERMISSION_LEVELS]);
    assert.deepEqual(ruleProps.type!.enum, [...PATTERN_TYPES]);
    for (const key of ['permission', 'type']) {
      assert.equal(
        ruleProps[key]!.markdownEnumDescriptions!.length,
        ruleProps[key]!.enum!.length,
        `one hover per ${key} value`,
      );
    }
  });
});

describe('package.json and the package carry the schema', () => {
  const pkg = readJson('package.json') as {
    contributes: {
      jsonValidation: { fileMatch: string; url: string }[];
      configuration: { properties: Record<string, Record<string, unknown>> };
    };
  };

  test('contributes.jsonValidation points .agentfense/presets.json at the schema', () => {
    assert.deepEqual(pkg.contributes.jsonValidation, [
      { fileMatch: '.agentfense/presets.json', url: `./${SCHEMA_PATH}` },
    ]);
  });

  test("the agentfense.presets setting has the schema file's shape, key for key", () => {
    // A setting's schema cannot $ref a file of the extension, so it holds a copy; this keeps the copy true.
    const {
      default: fallback,
      markdownDescription,
      order,
      ...settingShape
    } = pkg.contributes.configuration.properties['agentfense.presets']!;
    const { $schema, title, description, ...fileShape } = schema;
    assert.deepEqual(settingShape, fileShape);
    assert.deepEqual(fallback, {});
    assert.ok(typeof markdownDescription === 'string' && typeof order === 'number');
    assert.ok(typeof $schema === 'string' && typeof title === 'string' && typeof description === 'string');
  });

  test('.vscodeignore keeps the schema in the .vsix', async () => {
    const files = await listFiles({ cwd: ROOT, packageManager: PackageManager.None });
    assert.ok(files.includes(SCHEMA_PATH), `packaged: ${files.filter((f) => !f.startsWith('media/')).join(', ')}`);
  });
});
