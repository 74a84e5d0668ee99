import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { chatAttachments } from './modules/chat/attachments.ts';
import { chatDataRights } from './modules/chat/data-rights.ts';
import { createDirectService } from './modules/chat/direct-service.ts';
import { CHAT_EVENTS } from './modules/chat/events.ts';
import { createMessageEdits } from './modules/chat/message-edits.ts';
import { createMessageService } from './modules/chat/message-service.ts';
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
import { createDeviceService } from './modules/notifications/device-service.ts';
import { notificationSubscriptions } from './modules/notifications/events.ts';
import { createInboxService } from './modules/notifications/inbox-service.ts';
import { notificationPartitions } from './modules/notifications/partitions.ts';
import { createPipeline } from './modules/notifications/pipeline.ts';
import { createPreferenceService } from './modules/notifications/preference-service.ts';
import { createRecipients } from './modules/notifications/recipients.ts';
import { notificationRoutes } from './modules/notifications/routes.ts';
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
import { createSignInThrottle } from './modules/users/sign-in-throttle.ts';
import { createLogSmsSender, createSmsProSender, type SmsSender } from './modules/users/sms.ts';
import { verificationRoutes } from './modules/users/verification-routes.ts';
import { createVerificationService } from './modules/users/verification-service.ts';
import { auditRoutes } from './platform/audit/routes.ts';
import { createTokenSigner, publicRoutes, registerAuth, requireAccess } from './platform/auth.ts';
import { createCache } from './platform/cache.ts';
import { newId } from './platform/columns.ts';
import type { Config } from './platform/config.ts';
import { registerContract } from './platform/contract.ts';
import { registerCors } from './platform/cors.ts';
import { createFieldCipher } from './platform/crypto.ts';
import { createDataRights } from './platform/data-rights.ts';
import type { Database } from './platform/db.ts';
import { documentRoutes } from './platform/documentation.ts';
import {
  handleClientError,
  handleFrameworkError,
  registerErrorHandling,
  TooManyRequestsError,
} from './platform/errors.ts';
import { createEventBus, logEvents, purgeEventDeliveries } from './platform/events.ts';
import { type ReadinessProbes, registerHealth } from './platform/health.ts';
import type { App } from './platform/http.ts';
import { COMPRESSION_THRESHOLD_BYTES, registerHttpCache } from './platform/http-cache.ts';
import { registerIdempotency } from './platform/idempotency/plugin.ts';
import { createJobs, type JobsOptions } from './platform/jobs.ts';
import { rotateEncryptionKeysJob } from './platform/key-rotation.ts';
import { createMetrics, registerMetrics } from './platform/metrics.ts';
import { createCaseRules } from './platform/own-case.ts';
import { createPartitionManager } from './platform/partitions.ts';
import { platformDataRights } from './platform/platform-data-rights.ts';
import { createFrameRegistry } from './platform/realtime/frames.ts';
import { registerRealtimeDocs } from './platform/realtime/routes.ts';
import { componentSchemas } from './platform/schemas.ts';
import { createSearchVocabulary } from './platform/search/service.ts';
import { createSoftDeletes } from './platform/soft-delete.ts';
import { fileRoutes } from './platform/storage/routes.ts';
import { createFileService, DEFAULT_STORAGE_QUOTA_BYTES } from './platform/storage/service.ts';
import { createStorage, probeWritable } from './platform/storage/storage.ts';
import { registerTracing } from './platform/trace.ts';
import { lazySerializers, validatorCompiler } from './platform/validation.ts';

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

/** The version of both documents, OpenAPI and AsyncAPI: what `/api/v1` promises. */
const API_VERSION = '1.0.0';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * What each module declares for the platform to run (ARCHITECTURE.md, "What the platform knows"): the
 * soft-delete cascades within each module, and every column that holds ciphertext, for key rotation.
 */
export const cascades = [...catalogCascades, ...userCascades, ...orderCascades];
export const encryptedColumns = [...userEncryptedColumns, ...orderEncryptedColumns, ...chatEncryptedColumns];

/**
 * helmet's default headers (CSP off: this is a JSON API), fixed once. @fastify/helmet rebuilds helmet's
 * middleware chain on every request, a measurable share of a cached GET. Set in onRequest, so a route
 * can still override one.
 */
const SECURITY_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

export async function buildApp(options: AppOptions) {
  const { config, database } = options;
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: config.logLevel,
            redact: ['req.headers.authorization', 'req.headers.cookie'],
          },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // A request id from the client or proxy is kept when it looks like one, so logs join up across hops.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    forceCloseConnections: 'idle',
    // A URL the router cannot even parse, or a request that is not HTTP, still gets problem+json.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    schemaController: { compilersFactory: { buildSerializer: lazySerializers } },
  }).withTypeProvider<TypeBoxTypeProvider>() as App;

  requireAccess(app);
  // Before any route, so that every handler runs in the trace context its request came with.
  registerTracing(app);
  app.setValidatorCompiler(validatorCompiler);
  const allowedMethods = registerContract(app);
  registerErrorHandling(app, { allowedMethods });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  const redis = config.redisUrl
    ? {
        publisher: new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 }),
        subscriber: new Redis(config.redisUrl, { lazyConnect: false }),
      }
    : undefined;
  const metrics = createMetrics({ database });
  const cache = createCache({ redis, keyPrefix: config.redisKeyPrefix, onLookup: metrics.cacheLookup });

  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
  await registerCors(app, config.corsOrigins);
  registerHttpCache(app);
  // Before any route: the plugin adds its hook to each route as it is registered, the docs' included.
  await app.register(compress, {
    encodings: ['br', 'gzip'],
    threshold: COMPRESSION_THRESHOLD_BYTES,
    // Request bodies stay uncompressed: nothing sends big ones, and each would be one more way to a bomb.
    globalDecompression: false,
  });
  await app.register(rateLimit, {
    global: false,
    redis: redis?.publisher,
    nameSpace: `${config.redisKeyPrefix}rate:`,
    errorResponseBuilder: (request, context) => {
      metrics.rateLimited(request.routeOptions.url ?? 'unmatched');
      return new TooManyRequestsError(Math.max(1, Math.ceil(context.ttl / 1000)));
    },
  });

  for (const schema of componentSchemas()) app.addSchema(schema);
  // The realtime protocol's frames, registered by the modules below; documented beside the OpenAPI document.
  const frames = createFrameRegistry();
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'kg-job-portal API',
        version: API_VERSION,
        contact: { name: 'kg-job-portal API' },
        license: { name: 'Proprietary', identifier: 'LicenseRef-kg-job-portal' },
        description:
          'Local-services marketplace for Kyrgyzstan. Money is in tyiyn (1 KGS = 100 tyiyn); errors are RFC 9457 problem+json with a stable `code`.',
      },
      // Relative, so the document is the same in every deployment: the API is where the document is served.
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'The `METRICS_TOKEN` of the server' },
        },
      },
      tags: [
        { name: 'system', description: 'Health and metrics' },
        { name: 'auth', description: 'Sign-up, sign-in and sessions' },
        { name: 'catalog', description: 'Languages, categories, service areas, settings and app versions' },
        { name: 'profiles', description: 'My profile, and becoming a client or a provider' },
        { name: 'provider services', description: 'What a provider offers, per subcategory' },
        { name: 'favorites', description: 'A client’s favorite providers' },
        { name: 'directory', description: 'The public provider directory' },
        { name: 'files', description: 'Uploads (profile photos, verification evidence) and downloads' },
        { name: 'verification', description: 'Identity, business and other verifications, and their review' },
        { name: 'privacy', description: 'Closing an account, exporting and erasing personal data' },
        { name: 'users', description: 'Accounts as staff manage them' },
        { name: 'admin', description: 'Staff-only operations' },
        { name: 'reviews', description: 'Ratings the two parties of an order give each other' },
        { name: 'disputes', description: 'Disputes over agreed work, and how staff resolve them' },
        { name: 'orders', description: 'Service orders, their lifecycle, the provider feed and search' },
        { name: 'bids', description: 'Providers’ bids on orders; the client accepts or rejects them' },
        { name: 'assignments', description: 'Agreed work: the accepted bid, progress, completion' },
        { name: 'notifications', description: 'My in-app inbox and what I hear about, where' },
        { name: 'chat', description: 'Order, support and direct chats: rooms, messages, read state' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) || `def-${i}` },
    transformObject: (document) =>
      'openapiObject' in document ? withOptionalBodies(document.openapiObject) : document.swaggerObject,
  });
  // The document is still built (app.swagger()) when the routes that serve it are off.
  if (config.docsEnabled) {
    await app.register(async (docs) => {
      publicRoutes(docs);
      await docs.register(swaggerUi, { routePrefix: '/docs' });
    });
    registerRealtimeDocs(app, frames, API_VERSION);
  }
  documentRoutes(app);

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
    sms: createSmsChannel(smsSender),
    ...options.notificationChannels,
  };
  const recipients = createRecipients({ db: database.db, cipher });
  const devices = createDeviceService({
    db: database.db,
    isSessionLive: (sessionId) => accounts.isSessionLive(sessionId),
  });
  const deliveries = createDeliveries({
    db: database.db,
    jobs,
    channels: notificationChannels,
    recipients,
    devices,
  });
  jobs.register(deliveries.deliverJob);
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
  events.subscribe(...notificationSubscriptions({ db: database.db, pipeline, recipients }));
  const inbox = createInboxService({ db: database.db });
  const notificationAdmin = createNotificationAdmin({
    db: database.db,
    templates,
    recipients,
    devices,
    channels: notificationChannels,
  });

  jobs.register(dataRights.retentionJob, purgeEventDeliveries(database.db), rotateKeys);
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
  await app.register(chatOpeningRoutes, { prefix: '/api/v1', support, direct: directChats });
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

/**
 * What a worker process serves on its own port (WORKER_PORT): liveness, readiness (the checks of `app`, the
 * job queue among them) and the metrics, under the same METRICS_TOKEN; none of the API.
 */
export async function buildWorkerOperations(app: BuiltApp, config: Config) {
  // The app's onReady starts its job queue.
  await app.ready();
  const ops = Fastify({
    loggerInstance: app.log.child({ server: 'worker-operations' }),
    forceCloseConnections: true,
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
  }).withTypeProvider<TypeBoxTypeProvider>() as App;
  // A probe or a scrape every few seconds is not news: only warnings (a failed check) are logged.
  ops.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  registerErrorHandling(ops);
  for (const schema of componentSchemas()) ops.addSchema(schema);
  registerHealth(ops, app.operations.readiness);
  registerMetrics(ops, app.operations.metrics, { token: config.metricsToken, observeRequests: false });
  await ops.ready();
  return ops;
}

/**
 * @fastify/swagger marks every request body required; a route whose body may be left out says so in its
 * schema (`x-optional-body`, platform/contract.ts), and the operation's `requestBody.required` follows it.
 */
function withOptionalBodies<D extends { paths?: object }>(document: D): D {
  for (const item of Object.values(document.paths ?? {}) as object[]) {
    for (const operation of Object.values(item ?? {}) as Record<string, unknown>[]) {
      if (typeof operation !== 'object' || operation === null || !('x-optional-body' in operation)) continue;
      delete operation['x-optional-body'];
      (operation.requestBody as { required?: boolean }).required = false;
    }
  }
  return document;
}
