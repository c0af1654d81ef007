import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineEditor } from '../../src/extension/run/lineEditor';

const LEFT = '\x1b[D';
const RIGHT = '\x1b[C';
const UP = '\x1b[A';
const DOWN = '\x1b[B';

test('typing and Enter submit the line', () => {
  const ed = new LineEditor('$ ');
  ed.feed('ls -la');
  const r = ed.feed('\r');
  assert.deepEqual(r.events, [{ kind: 'submit', line: 'ls -la' }]);
  assert.equal(ed.line, '');
});

test('cursor movement, insertion in the middle, backspace and delete', () => {
  const ed = new LineEditor();
  ed.feed('ecoh');
  ed.feed(LEFT + LEFT); // cursor before "o"
  ed.feed('\x7f'); // deletes "c"
  assert.equal(ed.line, 'eoh');
  ed.feed('ch'); // inserts
  assert.equal(ed.line, 'echoh');
  ed.feed('\x1b[3~'); // delete under cursor: "o"
  assert.equal(ed.line, 'echh');
  ed.feed('\x01'); // Ctrl+A home
  assert.equal(ed.cursorPosition, 0);
  ed.feed('\x1b[F'); // End
  assert.equal(ed.cursorPosition, 4);
  ed.feed(RIGHT); // at end: nothing
  assert.equal(ed.cursorPosition, 4);
});

test('history walks up and down and restores the draft', () => {
  const ed = new LineEditor();
  ed.feed('one\r');
  ed.feed('two\r');
  ed.feed('dra');
  ed.feed(UP);
  assert.equal(ed.line, 'two');
  ed.feed(UP);
  assert.equal(ed.line, 'one');
  ed.feed(UP); // stays at the oldest
  assert.equal(ed.line, 'one');
  ed.feed(DOWN + DOWN);
  assert.equal(ed.line, 'dra');
});

test('Ctrl+C abandons the line; Ctrl+D on an empty line is end-of-input', () => {
  const ed = new LineEditor();
  ed.feed('rm -rf');
  const r = ed.feed('\x03');
  assert.deepEqual(r.events, [{ kind: 'interrupt' }]);
  assert.match(r.output, /\^C/);
  assert.equal(ed.line, '');
  assert.deepEqual(ed.feed('\x04').events, [{ kind: 'eof' }]);
  ed.feed('ab' + LEFT);
  assert.deepEqual(ed.feed('\x04').events, []); // with text: deletes under the cursor
  assert.equal(ed.line, 'a');
});

test('a pasted block submits the first line and keeps the rest for the next prompt', () => {
  const ed = new LineEditor();
  const r = ed.feed('cd src\r\npwd\r');
  assert.deepEqual(r.events, [{ kind: 'submit', line: 'cd src' }]);
  const rest = ed.takePending();
  assert.deepEqual(ed.feed(rest).events, [{ kind: 'submit', line: 'pwd' }]);
});

test('unknown escape sequences are swallowed, not inserted', () => {
  const ed = new LineEditor();
  ed.feed('a\x1b[15~b\x1b[1;5Cc');
  assert.equal(ed.line, 'abc');
});
