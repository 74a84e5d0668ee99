// Every table of every module, for Drizzle and drizzle-kit. Modules own their tables; this only lists them.
export * from './modules/chat/schema.ts';
export * from './modules/core/schema.ts';
export * from './modules/notifications/schema.ts';
export * from './modules/orders/schema.ts';
export * from './modules/users/schema.ts';
export * from './platform/audit/schema.ts';
export * from './platform/events-schema.ts';
export * from './platform/idempotency/schema.ts';
export * from './platform/search/schema.ts';
export * from './platform/storage/schema.ts';
