import type { z } from 'zod';
import type { SettingsStore } from '../settings-store.ts';
import type { HttpApp } from './http-server.ts';

/** GET and PUT /admin/failure-injection over a service's failure-injection settings. */
export function registerFailureInjectionRoutes<S extends z.ZodObject>(app: HttpApp, schema: S, store: SettingsStore<z.infer<S>>, what: string) {
  // Fastify's route types cannot follow a generic schema; the schema still validates at run time.
  const settings = schema as z.ZodObject;
  const values = store as unknown as SettingsStore<Record<string, unknown>>;
  app.get('/admin/failure-injection', { config: { access: 'operator' }, schema: { tags: ['admin'], summary: `Failure injection: ${what}`, response: { 200: settings } } }, async () =>
    values.current(),
  );
  app.put(
    '/admin/failure-injection',
    { config: { access: 'operator' }, schema: { tags: ['admin'], summary: `Set failure injection: ${what}`, body: settings.partial(), response: { 200: settings } } },
    async (request) => values.update(request.body),
  );
}
