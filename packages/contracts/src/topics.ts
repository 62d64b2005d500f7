/** One topic per owning service (document 000). Record key = order id. */
export const Topic = {
  orders: 'orders',
  inventory: 'inventory',
  payment: 'payment',
  notification: 'notification',
  shipping: 'shipping',
} as const;
export type Topic = (typeof Topic)[keyof typeof Topic];

export const EVENT_TOPICS: readonly Topic[] = Object.values(Topic);

export const deadLetterTopic = (topic: string): string => `${topic}.DLT`;

/** Record header names. Values are strings. */
export const Header = {
  eventType: 'event-type',
  eventVersion: 'event-version',
  producer: 'producer-service',
  timestamp: 'timestamp',
  traceparent: 'traceparent',
  dltOriginalTopic: 'dlt-original-topic',
  dltOriginalPartition: 'dlt-original-partition',
  dltOriginalOffset: 'dlt-original-offset',
  dltError: 'dlt-error',
  dltAttempts: 'dlt-attempts',
  dltConsumerGroup: 'dlt-consumer-group',
} as const;
