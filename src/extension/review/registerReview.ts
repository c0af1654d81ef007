/**
 * The review capability's part of activation: the AgentFense source control, refreshed after
 * runs, uploads and reconnects.
 */
import type { Ctx } from '../context';
import { ReviewController } from './reviewController';

/** Returns the controller the review commands act on. */
export function registerReview(ctx: Ctx): ReviewController {
  const controller = new ReviewController(ctx);
  ctx.push(controller);
  ctx.push(
    ctx.onDidChangeCodebase((folder) => void controller.refresh(folder)),
    ctx.connection.onDidChangeState((s) => {
      if (s === 'connected') void controller.refreshAll();
    }),
  );
  return controller;
}
