import { definePartitionedTable } from '../../platform/partitions.ts';

/** The notification tables that grow with time, by month (ARCHITECTURE.md, "Partitioned tables"). */
export const notificationPartitions = [
  definePartitionedTable({ table: 'user_notifications', period: 'month', ahead: 2 }),
  definePartitionedTable({ table: 'notification_deliveries', period: 'month', ahead: 2 }),
  definePartitionedTable({ table: 'notification_logs', period: 'month', ahead: 2 }),
];
