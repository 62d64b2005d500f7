import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { composeConfirmation } from '../domain/notification.ts';
import type { NotificationDatabase } from '../store/schema.ts';

/** PaymentCompleted or SendNotification → record the confirmation (the simulated send) → NotificationSent. */
export const sendConfirmation =
  (deps: { events: EventFactory; now: () => string; newId: () => string }) =>
  async (event: MessageOf<'PaymentCompleted' | 'SendNotification'>, trx: Transaction<NotificationDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    const notice = composeConfirmation(orderId, event.data.customerId, event.data.amount, event.data.currency);
    const notificationId = deps.newId();
    const inserted = await trx
      .insertInto('notifications')
      .values({ notification_id: notificationId, order_id: orderId, ...notice, sent_at: deps.now() })
      .onConflict((oc) => oc.columns(['order_id', 'template']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return [];
    return [
      deps.events.create('NotificationSent', orderId, { notificationId, customerId: notice.recipient, channel: notice.channel, template: notice.template }, event),
    ];
  };
