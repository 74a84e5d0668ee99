import { Redis } from 'ioredis';
import { chatAttachments } from './modules/chat/attachments.ts';
import { chatDataRights } from './modules/chat/data-rights.ts';
import { createDirectService } from './modules/chat/direct-service.ts';
import { CHAT_EVENTS } from './modules/chat/events.ts';
import { createMessageEdits } from './modules/chat/message-edits.ts';
import { createMessageService } from './modules/chat/message-service.ts';
import { createNoticePreferences } from './modules/chat/notice-preferences.ts';
import { orderUpdateSubscription } from './modules/chat/order-updates.ts';
import { chatPartitions } from './modules/chat/partitions.ts';
import { chatReportRoutes } from './modules/chat/report-routes.ts';
import { createReportService } from './modules/chat/report-service.ts';
import { createRoomService } from './modules/chat/room-service.ts';
import { chatRoutes } from './modules/chat/routes.ts';
import { chatEncryptedColumns } from './modules/chat/schema.ts';
import { createSendRules } from './modules/chat/send-rules.ts';
import { chatOpeningRoutes } from './modules/chat/support-routes.ts';
import { createSupportService } from './modules/chat/support-service.ts';
import { chatTemplateRoutes } from './modules/chat/template-routes.ts';
import { createTemplateService as createChatTemplates } from './modules/chat/template-service.ts';
import { catalogAdminRoutes } from './modules/core/admin-routes.ts';
import { CATALOG_EVENTS } from './modules/core/events.ts';
import { catalogRoutes } from './modules/core/routes.ts';
import { catalogCascades } from './modules/core/schema.ts';
import { createCatalogService } from './modules/core/service.ts';
import { notificationAdminRoutes } from './modules/notifications/admin-routes.ts';
import { createNotificationAdmin } from './modules/notifications/admin-service.ts';
import {
  type ChannelAdapter,
  createDevelopmentChannel,
  createEmailChannel,
  createFcmChannel,
  createSmsChannel,
} from './modules/notifications/channels.ts';
import type { OutboundChannel } from './modules/notifications/contract.ts';
import { notificationDataRights } from './modules/notifications/data-rights.ts';
import { createDeliveries } from './modules/notifications/delivery.ts';
import { createDeliveryReports } from './modules/notifications/delivery-reports.ts';
import { createDeviceService } from './modules/notifications/device-service.ts';
import { notificationSubscriptions } from './modules/notifications/events.ts';
import { createInboxService } from './modules/notifications/inbox-service.ts';
import { notificationPartitions } from './modules/notifications/partitions.ts';
import { createPipeline } from './modules/notifications/pipeline.ts';
import { createPreferenceService } from './modules/notifications/preference-service.ts';
import { createRecipients } from './modules/notifications/recipients.ts';
import { notificationRoutes } from './modules/notifications/routes.ts';
import { createSmsProReports } from './modules/notifications/sms-reports.ts';
import { createTemplates } from './modules/notifications/templates.ts';
import { dealingsBetween } from './modules/orders/access.ts';
import { accountSubscription, createAccountSettlement } from './modules/orders/account-settlement.ts';
import { assignmentRoutes } from './modules/orders/assignment-routes.ts';
import { createAssignmentService } from './modules/orders/assignment-service.ts';
import { orderAttachments } from './modules/orders/attachments.ts';
import { bidRoutes } from './modules/orders/bid-routes.ts';
import { createBidService } from './modules/orders/bid-service.ts';
import { catalogSubscription, createCatalogWithdrawals } from './modules/orders/catalog-withdrawals.ts';
import { orderDataRights } from './modules/orders/data-rights.ts';
import { disputeRoutes } from './modules/orders/dispute-routes.ts';
import { createDisputeService } from './modules/orders/dispute-service.ts';
import { ORDER_EVENTS } from './modules/orders/events.ts';
import { createOrderExtensions } from './modules/orders/extensions.ts';
import { feedRoutes } from './modules/orders/feed-routes.ts';
import { createFeedService } from './modules/orders/feed-service.ts';
import { orderJobs } from './modules/orders/jobs.ts';
import { orderRoutes } from './modules/orders/order-routes.ts';
import { createOrderService } from './modules/orders/order-service.ts';
import { reviewRoutes } from './modules/orders/review-routes.ts';
import { createReviewService } from './modules/orders/review-service.ts';
import { orderCascades, orderEncryptedColumns } from './modules/orders/schema.ts';
import { createSettling } from './modules/orders/settling.ts';
import { userAdminRoutes } from './modules/users/admin-routes.ts';
import { createUserAdminService } from './modules/users/admin-service.ts';
import { userAttachments } from './modules/users/attachments.ts';
import { userDataRights } from './modules/users/data-rights.ts';
import { createDirectoryService } from './modules/users/directory-service.ts';
import { ACCOUNT_EVENTS } from './modules/users/events.ts';
import { createAccountExtensions } from './modules/users/extensions.ts';
import { privacyRoutes } from './modules/users/privacy-routes.ts';
import { createPrivacyService } from './modules/users/privacy-service.ts';
import { profileRoutes } from './modules/users/profile-routes.ts';
import { createProfileService } from './modules/users/profile-service.ts';
import { accountRoutes } from './modules/users/routes.ts';
import { userCascades, userEncryptedColumns } from './modules/users/schema.ts';
import { createAccountService } from './modules/users/service.ts';
import { endExpiredSessionsJob } from './modules/users/session-service.ts';
import { createSignInThrottle } from './modules/users/sign-in-throttle.ts';
import { createLogSmsSender, createSmsProSender, type SmsSender } from './modules/users/sms.ts';
import { verificationRoutes } from './modules/users/verification-routes.ts';
import { createVerificationService } from './modules/users/verification-service.ts';
import { auditRoutes } from './platform/audit/routes.ts';
import { createTokenSigner, registerAuth } from './platform/auth.ts';
import { createCache } from './platform/cache.ts';
import type { Config } from './platform/config.ts';
import { createFieldCipher } from './platform/crypto.ts';
import { createDataRights } from './platform/data-rights.ts';
import type { Database } from './platform/db.ts';
import { createEventBus, logEvents, purgeEventDeliveries } from './platform/events.ts';
import { type ReadinessProbes, registerHealth } from './platform/health.ts';
import { registerIdempotency } from './platform/idempotency/plugin.ts';
import { createJobs, type JobsOptions } from './platform/jobs.ts';
import { rotateEncryptionKeysJob } from './platform/key-rotation.ts';
import { createMetrics, registerMetrics } from './platform/metrics.ts';
import { createCaseRules } from './platform/own-case.ts';
import { createPartitionManager } from './platform/partitions.ts';
import { platformDataRights } from './platform/platform-data-rights.ts';
import { createFrameRegistry } from './platform/realtime/frames.ts';
import { createSearchVocabulary } from './platform/search/service.ts';
import { createServer, registerApiDocument, registerPlatformPlugins } from './platform/server.ts';
import { createSoftDeletes } from './platform/soft-delete.ts';
import { fileRoutes } from './platform/storage/routes.ts';
import { createFileService } from './platform/storage/service.ts';
import { createStorage, probeWritable } from './platform/storage/storage.ts';
import { DEFAULT_STORAGE_QUOTA_BYTES } from './platform/storage/upload-rules.ts';

export interface AppOptions {
  config: Config;
  database: Database;
  sms?: SmsSender;
  /** Notification channels in place of the configured ones (tests). */
  notificationChannels?: Partial<Record<OutboundChannel, ChannelAdapter>>;
  /** Run background jobs in this process; defaults to the config (on in embedded mode). */
  work?: boolean;
  jobs?: Pick<JobsOptions, 'pollingIntervalSeconds' | 'cronMonitorIntervalSeconds'>;
  logger?: boolean;
}

/**
 * What each module declares for the platform to run (ARCHITECTURE.md, "What the platform knows"): the
 * soft-delete cascades within each module, and every column that holds ciphertext, for key rotation.
 */
export const cascades = [...catalogCascades, ...userCascades, ...orderCascades];
export const encryptedColumns = [...userEncryptedColumns, ...orderEncryptedColumns, ...chatEncryptedColumns];

export async function buildApp(options: AppOptions) {
  const { config, database } = options;
  const app = createServer(config, { logger: options.logger });
  const redis = config.redisUrl
    ? {
        publisher: new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 }),
        subscriber: new Redis(config.redisUrl, { lazyConnect: false }),
      }
    : undefined;
  const metrics = createMetrics({ database });
  const cache = createCache({ redis, keyPrefix: config.redisKeyPrefix, onLookup: metrics.cacheLookup });
  await registerPlatformPlugins(app, { config, redis: redis?.publisher, metrics });
  // The realtime protocol's frames, registered by the modules below; documented beside the OpenAPI document.
  const frames = createFrameRegistry();
  await registerApiDocument(app, { config, frames });

  const signer = createTokenSigner(config.secrets.jwtSecret, config.accessTokenTtlSeconds);
  const work = options.work ?? config.runWorker;
  const jobs = createJobs({ database, log: app.log, work, observe: metrics.observeJob, ...options.jobs });
  const cipher = createFieldCipher(config.secrets.encryptionKeys, config.secrets.blindIndexKey);
  // Every module's subscriptions are wired below, before anything emits.
  const events = createEventBus({ db: database.db, jobs });
  events.subscribe(logEvents([...CATALOG_EVENTS, ...ORDER_EVENTS, ...ACCOUNT_EVENTS, ...CHAT_EVENTS]));
  const softDeletes = createSoftDeletes(cascades);
  const catalog = createCatalogService({ db: database.db, cache, softDeletes, events });
  const storage = await createStorage(config);
  const files = createFileService({
    db: database.db,
    storage,
    jobs,
    quotaBytes: () => catalog.getSettingValue('storage_quota_bytes', DEFAULT_STORAGE_QUOTA_BYTES),
  });
  files.registerAttachments(
    ...userAttachments(database.db),
    ...orderAttachments(database.db),
    ...chatAttachments(database.db),
  );
  jobs.register(files.deleteObjectsJob, files.sweepJob);
  const vocabulary = createSearchVocabulary({ cache });
  const profiles = createProfileService({
    db: database.db,
    cipher,
    catalog,
    files,
    vocabulary,
    softDeletes,
  });
  const directory = createDirectoryService({ db: database.db, catalog, vocabulary });
  // Staff decisions about people, one rule for every module; orders lend it the dealings between people.
  const cases = createCaseRules();
  cases.addTies(dealingsBetween);
  const smsSender =
    options.sms ?? (config.smsGateway ? createSmsProSender(config.smsGateway) : createLogSmsSender(app.log));
  const verifications = createVerificationService({ db: database.db, files, profiles, cases, events });
  const accounts = createAccountService({
    db: database.db,
    cache,
    signer,
    sms: smsSender,
    refreshTokenTtlDays: config.refreshTokenTtlDays,
    cipher,
    throttle: createSignInThrottle({ db: database.db, events }),
    events,
    cases,
  });
  // Every module's export, erasure and retention (ARCHITECTURE.md, "Data rights"), run in this order.
  const dataRights = createDataRights({
    db: database.db,
    settingValue: (key, fallback) => catalog.getSettingValue(key, fallback),
  });
  dataRights.register(
    userDataRights({ db: database.db, accounts, profiles, vocabulary }),
    orderDataRights({ db: database.db, cipher }),
    notificationDataRights({ db: database.db }),
    chatDataRights({ db: database.db, cipher }),
    platformDataRights({ db: database.db, files }),
  );
  // Later modules may refuse an erasure here (orders: agreed work not finished).
  const accountExtensions = createAccountExtensions();
  const privacy = createPrivacyService({
    db: database.db,
    accounts,
    profiles,
    dataRights,
    cases,
    events,
    softDeletes,
    extensions: accountExtensions,
  });
  const userAdmin = createUserAdminService({ db: database.db, cipher, accounts, cases });
  const rotateKeys = rotateEncryptionKeysJob(database.db, cipher, encryptedColumns);
  const settling = createSettling({ events, vocabulary, profiles });
  const orders = createOrderService({
    db: database.db,
    cipher,
    catalog,
    files,
    profiles,
    events,
    vocabulary,
    cases,
    softDeletes,
    settling,
  });
  jobs.register(...orderJobs(orders));
  // A subcategory taken off the catalog takes the orders still looking for a provider in it.
  const withdrawals = createCatalogWithdrawals({ db: database.db, softDeletes, catalog, vocabulary, events });
  events.subscribe(catalogSubscription(withdrawals));
  // A closed, erased or blocked account's open orders are cancelled and its pending bids withdrawn; an
  // erasure over agreed work not finished is refused in its own transaction.
  const settlement = createAccountSettlement({ db: database.db, settling });
  events.subscribe(accountSubscription(settlement));
  accountExtensions.accountErasure.register('orders', settlement.refuseErasureOverWork);
  // Later modules register their work in orders' transactions here (chat and payments on accept).
  const orderExtensions = createOrderExtensions();
  const bids = createBidService({
    db: database.db,
    events,
    catalog,
    directory,
    accounts,
    extensions: orderExtensions,
    settling,
  });
  // The order's chat opens in the accept's transaction, with the client and the assigned provider.
  const chatRooms = createRoomService({ db: database.db, cipher });
  orderExtensions.bidAccepted.register('chat', (accepted) => chatRooms.openOrderChat(accepted));
  const chatTemplates = createChatTemplates({ db: database.db });
  const chatMessages = createMessageService({
    db: database.db,
    cipher,
    events,
    templates: chatTemplates,
    rules: createSendRules({
      db: database.db,
      files,
      settingValue: (key, fallback) => catalog.getSettingValue(key, fallback),
    }),
  });
  events.subscribe(orderUpdateSubscription({ db: database.db, messages: chatMessages }));
  const support = createSupportService({ db: database.db, rooms: chatRooms, messages: chatMessages });
  const directChats = createDirectService({ db: database.db, rooms: chatRooms });
  const assignments = createAssignmentService({ db: database.db, profiles, directory, files });
  const feed = createFeedService({ db: database.db, profiles, vocabulary });
  const reviews = createReviewService({ db: database.db, events, profiles, cases, softDeletes });
  const disputes = createDisputeService({
    db: database.db,
    events,
    profiles,
    files,
    catalog,
    cases,
    reviews,
  });
  // Every event a person must hear about becomes an inbox item and a delivery on each channel they chose.
  const notificationChannels: Record<OutboundChannel, ChannelAdapter> = {
    push: config.fcm ? createFcmChannel(config.fcm) : createDevelopmentChannel('push', app.log),
    email: config.smtpUrl
      ? createEmailChannel({
          url: config.smtpUrl,
          from: config.mailFrom,
          unsubscribeUrl: 'https://master.kg/app/me/notification-preferences',
        })
      : createDevelopmentChannel('email', app.log),
    sms: createSmsChannel(smsSender, config.smsGateway && createSmsProReports(config.smsGateway)),
    ...options.notificationChannels,
  };
  const recipients = createRecipients({ db: database.db, cipher });
  const devices = createDeviceService({
    db: database.db,
    isSessionLive: (sessionId) => accounts.isSessionLive(sessionId),
  });
  const deliveryReports = createDeliveryReports({ db: database.db, jobs, channels: notificationChannels });
  const deliveries = createDeliveries({
    db: database.db,
    jobs,
    channels: notificationChannels,
    recipients,
    devices,
    checkJob: deliveryReports.checkJob,
  });
  jobs.register(deliveries.deliverJob, deliveryReports.checkJob);
  const notificationPreferences = createPreferenceService({
    db: database.db,
    settingValue: (key, fallback) => catalog.getSettingValue(key, fallback),
  });
  const templates = createTemplates({ db: database.db });
  const pipeline = createPipeline({
    db: database.db,
    jobs,
    deliverJob: deliveries.deliverJob,
    recipients,
    devices,
    preferences: notificationPreferences,
    templates,
    defaultLanguage: () => catalog.defaultLanguage(),
    linkBase: () => catalog.getSettingValue('app_link_base', 'https://master.kg/app'),
  });
  events.subscribe(...notificationSubscriptions({ db: database.db, pipeline, recipients, devices }));
  const inbox = createInboxService({ db: database.db });
  const notificationAdmin = createNotificationAdmin({
    db: database.db,
    templates,
    recipients,
    devices,
    channels: notificationChannels,
  });

  jobs.register(
    dataRights.retentionJob,
    purgeEventDeliveries(database.db),
    rotateKeys,
    endExpiredSessionsJob(accounts),
  );
  // Modules register their time-partitioned tables here (ARCHITECTURE.md, "Partitioned tables").
  const partitions = createPartitionManager({ db: database.db });
  partitions.register(...notificationPartitions, ...chatPartitions);
  jobs.register(partitions.job);

  registerAuth(app, signer, accounts.isSessionLive);
  registerIdempotency(app, database.db);
  registerMetrics(app, metrics, { token: config.metricsToken });
  const readiness: ReadinessProbes = {
    database: () => database.sql.query('select 1'),
    // The embedded database lives in the data directory: a full disk there stops every write.
    ...(database.kind === 'pglite' && { data_dir: () => probeWritable(config.dataDir) }),
    file_storage: () => storage.check(),
    ...(work && { job_queue: () => jobs.check() }),
  };
  registerHealth(app, readiness);

  await app.register(catalogRoutes, { prefix: '/api/v1', catalog });
  await app.register(catalogAdminRoutes, { prefix: '/api/v1', catalog });
  await app.register(accountRoutes, {
    prefix: '/api/v1',
    accounts,
    authRateLimitPerMinute: config.authRateLimitPerMinute,
  });
  await app.register(profileRoutes, { prefix: '/api/v1', profiles, directory, files });
  await app.register(privacyRoutes, {
    prefix: '/api/v1',
    privacy,
    exportDocument: dataRights.exportSchema(),
  });
  await app.register(userAdminRoutes, { prefix: '/api/v1', admin: userAdmin, privacy });
  await app.register(fileRoutes, { prefix: '/api/v1', files });
  await app.register(verificationRoutes, { prefix: '/api/v1', verifications });
  await app.register(auditRoutes, { prefix: '/api/v1', db: database.db });
  await app.register(orderRoutes, { prefix: '/api/v1', orders });
  await app.register(reviewRoutes, { prefix: '/api/v1', reviews });
  await app.register(disputeRoutes, { prefix: '/api/v1', disputes });
  await app.register(bidRoutes, { prefix: '/api/v1', bids, assignments });
  await app.register(assignmentRoutes, { prefix: '/api/v1', assignments });
  await app.register(feedRoutes, { prefix: '/api/v1', feed });
  await app.register(notificationRoutes, {
    prefix: '/api/v1',
    inbox,
    preferences: notificationPreferences,
    devices,
  });
  await app.register(notificationAdminRoutes, { prefix: '/api/v1', admin: notificationAdmin });
  await app.register(chatRoutes, {
    prefix: '/api/v1',
    rooms: chatRooms,
    messages: chatMessages,
    edits: createMessageEdits({ db: database.db, cipher, files }),
    messagesPerMinute: () => catalog.getSettingValue('chat_messages_per_minute', 30),
  });
  await app.register(chatOpeningRoutes, {
    prefix: '/api/v1',
    support,
    direct: directChats,
    noticePreferences: createNoticePreferences({ db: database.db }),
  });
  await app.register(chatTemplateRoutes, { prefix: '/api/v1', templates: chatTemplates });
  await app.register(chatReportRoutes, {
    prefix: '/api/v1',
    reports: createReportService({ db: database.db, cipher, files }),
  });

  app.addHook('onReady', async () => {
    frames.seal();
    // Before any request: a row whose period has no partition yet could not be written.
    await partitions.createAhead();
    // Templates a new version brings are there before its first notification; staff edits stay.
    await templates.seed();
    await jobs.start();
    // More than one key means a rotation may be under way: finish it in the background.
    if (config.secrets.encryptionKeys.size > 1) {
      await jobs.enqueue(database.db, rotateKeys, {}, { singletonKey: 'rotate-encryption-keys' });
    }
  });
  app.addHook('onClose', async () => {
    await jobs.stop(config.shutdownGraceMs);
    await cache.close();
    if (redis) {
      redis.subscriber.disconnect();
      await redis.publisher.quit();
    }
  });

  return Object.assign(app, {
    /** What a worker process serves on its own port (`buildWorkerOperations`). */
    operations: { metrics, readiness },
    services: {
      catalog,
      accounts,
      profiles,
      directory,
      files,
      storage,
      jobs,
      events,
      cache,
      signer,
      cipher,
      orders,
      partitions,
      dataRights,
      orderExtensions,
      accountExtensions,
      softDeletes,
      frames,
      notificationChannels,
      templates,
    },
  });
}

export type BuiltApp = Awaited<ReturnType<typeof buildApp>>;
