/**
 * What a finished run tells the user beyond its terminal: the problems its output names go to
 * the Problems panel (replacing the previous run's in that folder), and a failure gets a
 * notification that says how it ended and offers the terminal.
 */
import * as vscode from 'vscode';
import { outcomeMessage, type OutcomeKind } from '../../core/run/outcomeMessage';
import { parseOutputProblems, type OutputProblem } from '../../core/run/outputProblems';
import type { RunOutcome } from './sandboxTerminal';

export class RunOutcomes implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('agentfense');
  private readonly published = new Map<string, vscode.Uri[]>();

  /**
   * `rerunAudited`: how to run it again under audit, offered on a failure that was not
   * audited (a refused access looks like a missing file until the audit names it).
   */
  report(
    kind: OutcomeKind,
    label: string,
    outcome: RunOutcome,
    terminal: vscode.Terminal | undefined,
    rerunAudited?: () => void,
  ): void {
    const problems = parseOutputProblems(outcome.output);
    this.publish(outcome.folder, problems);
    const message = outcomeMessage(kind, label, outcome.exitCode, problems);
    if (!message) return;
    if (outcome.exitCode === 0) {
      vscode.window.setStatusBarMessage(`$(pass) AgentFense: ${message}`, 5000);
      return;
    }
    const canAudit = rerunAudited !== undefined && outcome.denials === undefined;
    const refused = (outcome.denials?.denials.length ?? 0) > 0;
    const actions = [
      ...(refused ? ['Show Denials'] : []),
      ...(terminal ? ['Show Terminal'] : []),
      ...(problems.length ? ['Show Problems'] : []),
      ...(canAudit ? ['Re-run with Audit'] : []),
    ];
    void vscode.window.showErrorMessage(`AgentFense: ${message}`, ...actions).then((choice) => {
      if (choice === 'Show Terminal') terminal?.show();
      else if (choice === 'Re-run with Audit') rerunAudited?.();
      else if (choice === 'Show Denials') void vscode.commands.executeCommand('agentfense.denials.focus');
      else if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
    });
  }

  /** The folder's problems from its latest run; the previous run's go. */
  private publish(folder: vscode.WorkspaceFolder, problems: readonly OutputProblem[]): void {
    const key = folder.uri.toString();
    for (const uri of this.published.get(key) ?? []) this.diagnostics.delete(uri);
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const p of problems) {
      const position = new vscode.Position(p.line - 1, p.column - 1);
      const diagnostic = new vscode.Diagnostic(
        new vscode.Range(position, position.translate(0, 1)),
        p.message,
        p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
      );
      diagnostic.source = `AgentFense · ${p.source}`;
      byFile.set(p.path, [...(byFile.get(p.path) ?? []), diagnostic]);
    }
    const uris: vscode.Uri[] = [];
    for (const [path, list] of byFile) {
      const uri = vscode.Uri.joinPath(folder.uri, path);
      this.diagnostics.set(uri, list);
      uris.push(uri);
    }
    this.published.set(key, uris);
  }

  dispose(): void {
    this.diagnostics.dispose();
  }
}
