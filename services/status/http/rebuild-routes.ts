import { RebuildProgress } from '@orderflow/contracts';
import { ApiError, ErrorBody, type HttpApp } from '@orderflow/platform';
import { z } from 'zod';
import type { Projection } from '../handlers/project-events.ts';

/** Rebuilding the read model from the whole log, for operators: after a projection changed or a bug in it was fixed. */
export function registerRebuildRoutes(app: HttpApp, projection: Projection) {
  app.post(
    '/projection/rebuild',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Rebuilds the read model from the beginning of the log into a new copy, which takes over once caught up; the current copy serves meanwhile',
        response: { 202: z.object({ generation: z.number().int(), state: RebuildProgress.shape.state }), 409: ErrorBody },
      },
    },
    async (_request, reply) => {
      const started = await projection.startRebuild();
      if (!started) {
        const running = await projection.rebuildProgress();
        throw new ApiError(409, 'REBUILD_RUNNING', `rebuild: generation ${running.generation} is being rebuilt (${running.eventsProjected} events so far); wait for it to finish (GET /projection/rebuild)`);
      }
      return reply.status(202).send({ generation: started.generation, state: started.state });
    },
  );
  app.get(
    '/projection/rebuild',
    { config: { access: 'operator' }, schema: { tags: ['admin'], summary: "The latest rebuild's progress (idle: none ever ran)", response: { 200: RebuildProgress } } },
    async () => projection.rebuildProgress(),
  );
}
