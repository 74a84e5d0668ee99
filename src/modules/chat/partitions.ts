import { definePartitionedTable } from '../../platform/partitions.ts';

/** The chat's table that grows with time, by month (ARCHITECTURE.md, "Partitioned tables"). */
export const chatPartitions = [definePartitionedTable({ table: 'chat_messages', period: 'month', ahead: 2 })];
