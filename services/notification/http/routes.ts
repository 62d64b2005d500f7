import type { HttpApp } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { NotificationDatabase } from '../store/schema.ts';

const Notification = z.object({
  notificationId: z.string(),
  orderId: z.string(),
  template: z.string(),
  channel: z.string(),
  recipient: z.string(),
  subject: z.string(),
  body: z.string(),
  sentAt: z.string(),
});

export function registerNotificationRoutes(app: HttpApp, deps: { db: Kysely<NotificationDatabase> }) {
  app.get(
    '/notifications',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['notifications'],
        summary: 'Notifications sent, newest first (operators)',
        querystring: z.object({ orderId: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.object({ items: z.array(Notification) }) },
      },
    },
    async (request) => {
      let query = deps.db.selectFrom('notifications').selectAll();
      if (request.query.orderId) query = query.where('order_id', '=', request.query.orderId);
      const rows = await query.orderBy('sent_at', 'desc').limit(request.query.limit).execute();
      return {
        items: rows.map((r) => ({
          notificationId: r.notification_id,
          orderId: r.order_id,
          template: r.template,
          channel: r.channel,
          recipient: r.recipient,
          subject: r.subject,
          body: r.body,
          sentAt: r.sent_at,
        })),
      };
    },
  );
}
