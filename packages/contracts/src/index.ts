export * from './order-status.ts';
export * from './topics.ts';
export * from './envelope.ts';
export * from './events.ts';
export * from './catalog.ts';
export * from './views.ts';
export * from './json-schemas.ts';
