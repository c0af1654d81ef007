/** The shape every benchmark scenario has (one file per scenario under scenarios/). */
import type { BenchContext } from './context';
import type { ResultRow } from './report';

export interface ScenarioResult {
  rows: ResultRow[];
  details: Record<string, unknown>;
}

export interface Scenario {
  /** Short id used on the command line (`--only exec-latency`). */
  name: string;
  /** Shown in the table. */
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
