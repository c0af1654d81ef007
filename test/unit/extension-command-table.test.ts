/**
 * One command table (issue 11): every command package.json contributes has exactly one handler
 * in src/extension/commandTable.ts, every handler there is a contributed command, and no other
 * extension file registers commands. The table is read with the TypeScript parser, so neither
 * vscode nor the handlers are loaded.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const extensionDir = join(root, 'src', 'extension');
const TABLE_FILE = 'commandTable.ts';

function contributedCommands(): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string }[] };
  };
  return manifest.contributes.commands.map((c) => c.command);
}

/** The ids of `COMMAND_TABLE`, in order, duplicates kept; anything but a plain `'id': handler` fails. */
function tableIds(): string[] {
  const path = join(extensionDir, TABLE_FILE);
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  let table: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'COMMAND_TABLE' &&
      node.initializer
    ) {
      let init: ts.Expression = node.initializer;
      while (ts.isSatisfiesExpression(init) || ts.isAsExpression(init) || ts.isParenthesizedExpression(init))
        init = init.expression;
      assert.ok(ts.isObjectLiteralExpression(init), 'COMMAND_TABLE is an object literal');
      table = init;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  assert.ok(table, `${TABLE_FILE} declares COMMAND_TABLE`);
  return table.properties.map((p) => {
    assert.ok(
      ts.isPropertyAssignment(p) && ts.isStringLiteral(p.name),
      `every entry of COMMAND_TABLE is 'id': handler (found ${p.getText(source)})`,
    );
    return p.name.text;
  });
}

const duplicates = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('the command table', () => {
  it('has exactly one handler for every contributed command, and contributes every command it handles', () => {
    const contributed = contributedCommands();
    const table = tableIds();
    assert.deepEqual(duplicates(contributed), [], 'package.json contributes each command once');
    assert.deepEqual(duplicates(table), [], 'the table has one handler per command');
    assert.deepEqual(
      contributed.filter((id) => !table.includes(id)),
      [],
      'contributed commands without a handler',
    );
    assert.deepEqual(
      table.filter((id) => !contributed.includes(id)),
      [],
      'handlers of commands package.json does not contribute',
    );
  });

  it('is the only place in src/extension that registers commands', () => {
    const registering = (readdirSync(extensionDir, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /\.registerCommand\(/.test(readFileSync(join(extensionDir, f), 'utf8')))
      .sort();
    // context.ts defines Ctx.registerCommand (failures become messages); the table calls it.
    assert.deepEqual(registering, [TABLE_FILE, 'context.ts'].sort());
  });
});
