import { STAGES } from '@linebacker/db';
import { z } from 'zod';

/*
 * What GET /api/v1/ops/statistics answers (the operator dashboard's charts), declared once: the
 * types of the statistics code are inferred from these schemas, and /openapi.json is generated
 * from them.
 */

const count = z.int().min(0);
const milliseconds = z.number().min(0);

const stageLatencySchema = z
  .object({ count: count.meta({ description: 'requests that finished the stage within the minute' }), p50Ms: milliseconds, p95Ms: milliseconds })
  .meta({ id: 'StageLatency' });

const STAGE_DESCRIPTIONS = {
  check: 'Received → Allowed or NotAllowed (check-allowed)',
  send: 'Allowed → Sent (send-to-interface)',
  reply: 'Sent → Succeeded or Failed (the backup interface and receive-status)',
  total: 'Received → its first outcome (Succeeded, Failed or NotAllowed)',
} as const satisfies Record<(typeof STAGES)[number], string>;

export const minuteStatisticsSchema = z
  .object({
    minute: z.iso.datetime().meta({ description: 'start of the minute (UTC)' }),
    received: count.meta({ description: 'requests accepted' }),
    succeeded: count.meta({ description: 'requests that became Succeeded (a late success after Failed included)' }),
    failed: count,
    notAllowed: count,
    latency: z
      .object(Object.fromEntries(STAGES.map((stage) => [stage, stageLatencySchema.optional().meta({ description: STAGE_DESCRIPTIONS[stage] })])))
      .meta({ description: 'p50 and p95 of each stage over the requests that finished it within the minute; absent when none did' }),
  })
  .meta({ id: 'MinuteStatistics' });
export type MinuteStatisticsView = z.infer<typeof minuteStatisticsSchema>;

export const queueDepthSampleSchema = z
  .object({
    at: z.iso.datetime(),
    queues: z
      .record(z.string(), z.object({ waiting: count, active: count, delayed: count }))
      .meta({ description: 'by BullMQ queue name' }),
    interfaceQueues: z.record(z.string(), count).meta({ description: 'messages held, by interface queue name' }),
  })
  .meta({ id: 'QueueDepthSample' });
export type QueueDepthSample = z.infer<typeof queueDepthSampleSchema>;

export const pipelineStatisticsSchema = z
  .object({
    generatedAt: z.iso.datetime().meta({ description: 'when the minutes were last computed (at most LINEBACKER_STATISTICS_REFRESH_MS ago)' }),
    minutes: z.array(minuteStatisticsSchema).meta({
      description: 'the last 60 minutes, oldest first, every minute present (zeros when nothing happened); the last one is the current, unfinished minute',
    }),
    queueDepth: z.object({
      sampleSeconds: count.meta({ description: 'how often the health leader keeps a sample (LINEBACKER_QUEUE_DEPTH_SAMPLE_MS)' }),
      samples: z.array(queueDepthSampleSchema).meta({ description: 'oldest first, the last hour at most' }),
    }),
  })
  .meta({ id: 'PipelineStatistics', description: 'What the operator dashboard charts: the last hour, per minute, and queue depths.' });
export type PipelineStatisticsReport = z.infer<typeof pipelineStatisticsSchema>;
