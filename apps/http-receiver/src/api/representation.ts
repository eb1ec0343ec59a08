import type { BackupRequestWithHistory, DeliveryRecord, WebhookEndpoint } from '@linebacker/db';
import { REQUEST_STATUSES, formatEventId, type BackupRequest, type StatusEvent } from '@linebacker/domain';
import type { BackupRequestView, BackupRequestWithHistoryView, DeliveryView, WebhookEndpointView } from './api-schemas.js';

export const requestLocation = (backupRequestId: string): string => `/api/v1/backup-requests/${backupRequestId}`;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A request as the API shows it (SPEC §2.1): every field, timestamps as UTC ISO 8601, unset ones null. */
export function requestRepresentation(request: BackupRequest): BackupRequestView {
  return {
    backupRequestId: request.backupRequestId,
    backupJobId: request.backupJobId,
    dataDate: request.dataDate,
    backupDataLocation: request.backupDataLocation,
    requesterId: request.requesterId,
    status: request.status,
    statusReason: request.statusReason,
    receivedAt: request.receivedAt.toISOString(),
    checkedAt: iso(request.checkedAt),
    sentAt: iso(request.sentAt),
    repliedAt: iso(request.repliedAt),
    backupProviderCode: request.backupProviderCode,
    storagePathName: request.storagePathName,
    traceId: request.traceId,
  };
}

export function requestWithHistoryRepresentation(request: BackupRequestWithHistory): BackupRequestWithHistoryView {
  return {
    ...requestRepresentation(request),
    history: request.history.map((entry) => ({ status: entry.status, at: entry.at.toISOString(), reason: entry.reason })),
  };
}

export const webhookEndpointLocation = (endpointId: string): string => `/api/v1/webhook-endpoints/${endpointId}`;

/** An endpoint as the API shows it (never its secret). */
export function webhookEndpointRepresentation(endpoint: WebhookEndpoint): WebhookEndpointView {
  return {
    endpointId: endpoint.endpointId,
    clientId: endpoint.clientId,
    url: endpoint.url,
    statuses: endpoint.statuses ?? [...REQUEST_STATUSES],
    createdAt: endpoint.createdAt.toISOString(),
    lastDeliveredAt: iso(endpoint.lastDeliveredAt),
    failing: endpoint.failingSince !== null,
    failingSince: iso(endpoint.failingSince),
  };
}

export function deliveryRepresentation(delivery: DeliveryRecord): DeliveryView {
  return {
    eventId: formatEventId(delivery.eventId),
    event: JSON.parse(delivery.body) as StatusEvent,
    status: delivery.deliveredAt ? 'delivered' : delivery.failedAt ? 'failed' : 'pending',
    attempts: delivery.attempts,
    lastAttemptAt: iso(delivery.lastAttemptAt),
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    nextAttemptAt: iso(delivery.nextAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
    failedAt: iso(delivery.failedAt),
    createdAt: delivery.createdAt.toISOString(),
  };
}
