/**
 * Person-like actions on the VS Code workbench and what a person would read off the screen.
 * Selectors are VS Code's own DOM (1.139); every wait has a timeout and says what it waited for.
 */
import type { Locator, Page } from 'playwright-core';

export const DEFAULT_TIMEOUT = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `accept` holds; fails with the last value seen so a failure says what was there. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = DEFAULT_TIMEOUT,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const seen = last === undefined ? `error: ${String(lastError)}` : JSON.stringify(last, null, 1).slice(-2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(250);
  }
}

export function textMatches(text: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? text.includes(expected) : expected.test(text);
}

export class Workbench {
  constructor(readonly page: Page) {}

  // ------------------------------------------------------------------ the window
  /** Waits for the workbench to be laid out with the folder open in the Explorer. */
  async waitUntilReady(folderName: string, timeoutMs = 90_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page
      .locator('.part.activitybar, .activitybar')
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
    // The Explorer shows the folder's files once the remote file system answers.
    await waitFor(
      `the Explorer to show the folder ${folderName}`,
      () => this.page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts(),
      (rows) => rows.length > 1,
      timeoutMs,
    );
    await this.dismissNotifications();
  }

  /** Clears toasts that would cover what the tests look at (e.g. "git not found", recommendations). */
  async dismissNotifications(): Promise<void> {
    const toasts = this.page.locator(
      '.notification-toast .codicon-notifications-clear, .notification-toast .codicon-close',
    );
    for (const b of await toasts.all()) await b.click({ timeout: 2000 }).catch(() => undefined);
  }

  // ------------------------------------------------------------------ command palette and quick input
  get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /**
   * F1, type the command's title, click the entry whose label is exactly that title. The palette
   * lists what is registered when it opens, so while extensions are still starting it is closed
   * and opened again, as a person would.
   */
  async runCommand(title: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Fuzzy matching may rank other commands first ("Tasks: Rerun All Running Tasks" above
    // "Tasks: Run Task"), so pick the row by its exact label, as a person reads before clicking.
    const row = this.quickInput
      .locator('.monaco-list-row')
      .filter({
        has: this.page.locator('.label-name').filter({ hasText: new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`) }),
      })
      .first();
    for (;;) {
      await this.closeQuickInput();
      await this.page.keyboard.press('F1');
      const input = this.quickInput.locator('.quick-input-box input');
      try {
        // Something else taking focus (a terminal becoming ready) closes the palette under us:
        // then it is opened again, as a person would.
        await input.waitFor({ state: 'visible', timeout: Math.min(10_000, Math.max(1, deadline - Date.now())) });
        await input.fill(`>${title}`, { timeout: 5000 });
        await row.waitFor({ state: 'visible', timeout: Math.min(5000, Math.max(1, deadline - Date.now())) });
        await row.click();
        return;
      } catch {
        if (Date.now() >= deadline) {
          const offered = await this.quickInputRows();
          throw new Error(
            `the command palette does not offer "${title}"; it offers: ${JSON.stringify(offered.slice(0, 10))}`,
          );
        }
      }
    }
  }

  /** After a failed step: close dialogs, menus and pickers so the next test starts from a calm window. */
  async calmDown(): Promise<void> {
    for (let i = 0; i < 3; i++) await this.page.keyboard.press('Escape').catch(() => undefined);
    for (const b of await this.page
      .locator('.monaco-dialog-box .dialog-buttons a, .monaco-dialog-box .monaco-button')
      .all()) {
      await b.click({ timeout: 1000 }).catch(() => undefined);
    }
    await this.dismissNotifications();
  }

  /** Answers an input box (vscode.window.showInputBox): types the value and presses Enter. */
  async answerInputBox(value: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const input = this.quickInput.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(value);
    await this.page.keyboard.press('Enter');
  }

  /** Picks an entry of a quick pick by (part of) its label. */
  async pickQuickItem(label: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const row = this.quickInput.locator('.monaco-list-row').filter({ hasText: label }).first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    await row.click();
  }

  async quickInputRows(): Promise<string[]> {
    if (!(await this.quickInput.isVisible())) return [];
    return this.quickInput.locator('.monaco-list-row').allInnerTexts();
  }

  async closeQuickInput(): Promise<void> {
    if (await this.quickInput.isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.quickInput.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ views
  /** The title the side bar shows for its open view container ("" when the side bar is hidden). */
  async sideBarTitle(): Promise<string> {
    const title = this.page.locator('.part.sidebar .composite.title .title-label').first();
    if (!(await title.isVisible().catch(() => false))) return '';
    return (await title.innerText()).trim();
  }

  /**
   * Shows a view container (e.g. "AgentFense", "Explorer", "Source Control") by clicking its
   * activity-bar icon, unless the side bar already shows it (a second click would hide it).
   */
  async openViewContainer(title: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const shows = (t: string) => t.toLowerCase().startsWith(title.toLowerCase());
    if (shows(await this.sideBarTitle())) return;
    const item = this.page
      .locator(`.activitybar .action-item a[aria-label^="${title}"], .activitybar .action-item[aria-label^="${title}"]`)
      .first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    await item.click();
    await waitFor(`the side bar to show ${title}`, () => this.sideBarTitle(), shows, timeoutMs);
  }

  /** The pane (section) of the side bar whose header says `viewTitle`; expanded if collapsed. */
  async view(viewTitle: string, timeoutMs = DEFAULT_TIMEOUT): Promise<Locator> {
    const pane = this.page
      .locator('.sidebar .pane, .auxiliarybar .pane, .panel .pane')
      .filter({
        has: this.page.locator('.pane-header', { hasText: new RegExp(`^\\s*${escapeRegExp(viewTitle)}`, 'i') }),
      })
      .first();
    await pane.waitFor({ state: 'visible', timeout: timeoutMs });
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    return pane;
  }

  /** The visible labels of a tree view's rows, top to bottom. */
  async treeLabels(viewTitle: string): Promise<string[]> {
    const pane = await this.view(viewTitle);
    // One label per row: the row's first .label-name (which nests a highlighted-label span).
    return pane
      .locator('.monaco-list-row')
      .evaluateAll((rows) =>
        rows.map((r) => (r.querySelector('.label-name') as { innerText?: string } | null)?.innerText?.trim() ?? ''),
      );
  }

  /** A tree row whose label is exactly `label` (or matches the RegExp). */
  async treeItem(viewTitle: string, label: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<Locator> {
    const pane = await this.view(viewTitle, timeoutMs);
    const exact = typeof label === 'string' ? new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) : label;
    const row = pane
      .locator('.monaco-list-row')
      .filter({ has: this.page.locator('.label-name').filter({ hasText: exact }) })
      .first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    return row;
  }

  async clickTreeItem(viewTitle: string, label: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    await (await this.treeItem(viewTitle, label, timeoutMs)).click();
  }

  /** Expands a collapsed tree row (a click on a collapsed row toggles it). */
  async expandTreeItem(viewTitle: string, label: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const row = await this.treeItem(viewTitle, label, timeoutMs);
    if ((await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
      await waitFor(
        `"${label}" to expand`,
        () => row.getAttribute('aria-expanded'),
        (v) => v === 'true',
        timeoutMs,
      );
    }
  }

  /** Opens the row's context menu and clicks an entry, or an inline action with that title. */
  async treeItemAction(
    viewTitle: string,
    label: string | RegExp,
    action: string,
    timeoutMs = DEFAULT_TIMEOUT,
  ): Promise<void> {
    const row = await this.treeItem(viewTitle, label, timeoutMs);
    await row.hover();
    const inline = row
      .locator(`.actions .action-label[aria-label="${action}"], .actions .action-label[title="${action}"]`)
      .first();
    if (await inline.isVisible().catch(() => false)) {
      await inline.click();
      return;
    }
    await row.click({ button: 'right' });
    await this.clickContextMenuItem(action, timeoutMs);
  }

  async clickContextMenuItem(action: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const item = this.page
      .locator('.context-view .monaco-menu .action-item .action-label', { hasText: action })
      .first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    await item.click();
  }

  // ------------------------------------------------------------------ Source Control
  /** A resource row (a changed file) in the Source Control view, by file name. */
  scmResource(name: string): Locator {
    return this.page
      .locator('.scm-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) })
      .first();
  }

  /** The texts of the Source Control view's rows (provider headers, groups, resources). */
  async scmRows(): Promise<string[]> {
    return (await this.page.locator('.scm-view .monaco-list-row').allInnerTexts()).map((t) =>
      t.replace(/\s+/g, ' ').trim(),
    );
  }

  /** Clicks an inline action (by title, e.g. "Accept") on a Source Control resource, or its context-menu entry. */
  async scmResourceAction(name: string, action: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const row = this.scmResource(name);
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    await row.hover();
    const pattern = typeof action === 'string' ? new RegExp(`^${escapeRegExp(action)}`, 'i') : action;
    for (const a of await row.locator('.actions .action-label').all()) {
      const label = (await a.getAttribute('aria-label')) ?? (await a.getAttribute('title')) ?? '';
      if (pattern.test(label)) {
        await a.click();
        return;
      }
    }
    await row.click({ button: 'right' });
    const item = this.page
      .locator('.context-view .monaco-menu .action-item .action-label', { hasText: pattern })
      .first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    await item.click();
  }

  // ------------------------------------------------------------------ Explorer
  /** An Explorer row by its file name (top-level or already-expanded folders). */
  explorerRow(name: string): Locator {
    return this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) })
      .first();
  }

  /**
   * What the Explorer shows about a file's decoration: the badge letter (drawn by CSS ::after, so
   * read from computed styles), the row's aria-label, and the hover text a person sees on hover.
   */
  async explorerDecoration(
    name: string,
    opts: { hover?: boolean } = {},
  ): Promise<{ badge: string; ariaLabel: string; hover: string }> {
    const row = this.explorerRow(name);
    await row.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT });
    const { badge, ariaLabel } = await row.evaluate((el) => {
      // Runs in the page; the repository's tsconfig has no DOM typings, hence the cast.
      const { getComputedStyle } = globalThis as unknown as {
        getComputedStyle(e: unknown, pseudo: string): { content: string };
      };
      const badges: string[] = [];
      for (const node of [el, ...Array.from(el.querySelectorAll('*'))]) {
        for (const pseudo of ['::after', '::before']) {
          const c = getComputedStyle(node, pseudo).content;
          if (c && c !== 'none' && c !== 'normal' && c !== '""') badges.push(c.replace(/^"|"$/g, ''));
        }
      }
      // The decoration's tooltip is appended to the inner icon label's aria-label ("path • tooltip").
      const labels = [el, ...Array.from(el.querySelectorAll('[aria-label]'))].map(
        (n) => n.getAttribute('aria-label') ?? '',
      );
      return { badge: badges.filter((b) => !/^[\uE000-\uF8FF]$/.test(b)).join(' '), ariaLabel: labels.join(' | ') };
    });
    let hover = '';
    if (opts.hover) {
      const hovers = this.page.locator('.workbench-hover').filter({ visible: true });
      await row.locator('.label-name').hover();
      // The hover of this row (it starts with the file's path), not a stale one from the row before.
      hover = await waitFor(
        `a hover over ${name}`,
        async () => (await hovers.allInnerTexts()).join('\n'),
        (t) => t.includes(`/${name}`),
        10_000,
      );
      await this.page.mouse.move(5, 5);
      await this.page.keyboard.press('Escape');
      await waitFor(
        'the hover to close',
        () => hovers.count(),
        (n) => n === 0,
        5000,
      ).catch(() => undefined);
    }
    return { badge, ariaLabel, hover };
  }

  // ------------------------------------------------------------------ terminal
  /** The text of the visible terminal (DOM renderer rows; needs gpuAcceleration off). */
  async terminalText(): Promise<string> {
    const rows = this.page
      .locator('.terminal-wrapper.active .xterm-rows, .terminal .xterm-rows')
      .filter({ visible: true });
    const texts = await rows.allInnerTexts();
    return texts.join('\n').replace(/\u00a0/g, ' ');
  }

  async waitForTerminalText(expected: string | RegExp, timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
    return waitFor(
      `the terminal to show ${String(expected)}`,
      () => this.terminalText(),
      (t) => textMatches(t, expected),
      timeoutMs,
    );
  }

  /** The labels of the terminal tabs / dropdown entries (e.g. "AgentFense: …"). */
  async terminalNames(): Promise<string[]> {
    return this.page
      .locator('.terminal-tabs-entry .label-name, .panel .monaco-select-box option, .terminal-tabs-entry')
      .allInnerTexts();
  }

  /** Types a line into the terminal that has keyboard focus (focusing the active one first) and presses Enter. */
  async typeInTerminal(line: string): Promise<void> {
    const focused = () =>
      this.page.evaluate(
        () =>
          (
            globalThis as unknown as { document: { activeElement?: { classList: { contains(c: string): boolean } } } }
          ).document.activeElement?.classList.contains('xterm-helper-textarea') ?? false,
      );
    // A terminal that was just opened takes focus itself once it is ready; only if it does not
    // is it focused through the palette.
    const tookFocus = await waitFor('the terminal to take keyboard focus', focused, (f) => f, 10_000).then(
      () => true,
      () => false,
    );
    if (!tookFocus) {
      await this.runCommand('Terminal: Focus Terminal');
      await waitFor('the terminal to have keyboard focus', focused, (f) => f, 10_000);
    }
    await this.page.keyboard.type(line, { delay: 10 });
    await this.page.keyboard.press('Enter');
  }

  // ------------------------------------------------------------------ editors
  /** Quick Open (F1, then a file name instead of a command), as a person opens a file by name. */
  async openFile(name: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    const input = this.quickInput.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(name);
    await this.quickInput
      .locator('.monaco-list-row', { hasText: name })
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page.keyboard.press('Enter');
    await waitFor(
      `an editor tab for ${name}`,
      () => this.activeEditorTitle(),
      (t) => t.includes(name),
      timeoutMs,
    );
  }

  async activeEditorTitle(): Promise<string> {
    // The tab's aria-label is its whole title; its visible label is split into spans ("math" + ".js").
    return (
      (await this.page
        .locator('.tabs-container .tab.active')
        .first()
        .getAttribute('aria-label')
        .catch(() => '')) ?? ''
    ).trim();
  }

  async isDiffEditorVisible(): Promise<boolean> {
    return this.page
      .locator('.editor-instance .monaco-diff-editor')
      .filter({ visible: true })
      .count()
      .then((n) => n > 0);
  }

  /** The text of the visible editor lines (for the diff editor: both sides, left then right). */
  async editorText(): Promise<string> {
    return (await this.page.locator('.editor-instance .view-lines').filter({ visible: true }).allInnerTexts())
      .join('\n')
      .replace(/\u00a0/g, ' ');
  }

  // ------------------------------------------------------------------ problems
  /** The Problems panel's rows (opened with its keybinding, as a person does). */
  async problems(timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
    const panel = this.page.locator('.markers-panel').filter({ visible: true });
    if ((await panel.count()) === 0) await this.page.keyboard.press('Control+Shift+M');
    await panel.first().waitFor({ state: 'visible', timeout: timeoutMs });
    return (await panel.first().innerText()).replace(/\u00a0/g, ' ');
  }

  // ------------------------------------------------------------------ notifications and status bar
  async notifications(): Promise<string[]> {
    return this.page.locator('.notification-toast .notification-list-item-message').allInnerTexts();
  }

  /** Clicks a button of the notification toast that shows one. */
  async clickNotificationButton(label: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const button = this.page.locator('.notification-toast .monaco-button', { hasText: label }).first();
    await button.waitFor({ state: 'visible', timeout: timeoutMs });
    await button.click();
  }

  /** A modal dialog's text, once one shows; then `answerDialog` clicks one of its buttons. */
  async dialogText(timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
    const box = this.page.locator('.monaco-dialog-box');
    await box.waitFor({ state: 'visible', timeout: timeoutMs });
    return box.innerText();
  }

  async answerDialog(button: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const b = this.page.locator('.monaco-dialog-box').getByRole('button', { name: button });
    await b.waitFor({ state: 'visible', timeout: timeoutMs });
    await b.click();
  }

  async statusBarText(): Promise<string> {
    return (
      await this.page
        .locator('.part.statusbar')
        .innerText()
        .catch(() => '')
    ).replace(/\s+/g, ' ');
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
