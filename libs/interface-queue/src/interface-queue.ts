/**
 * The port to the external backup interface's queues (SPEC §1, §4). linebacker only ever needs
 * these operations, so another transport (Service Bus, SQS, …) is another implementation of this
 * interface; the apps never see the Azure SDK.
 */
export interface ReceivedMessage {
  /** Transport id of the message (for delete). */
  messageId: string;
  /** Proof of this particular receive (for delete); a stale one cannot delete. */
  popReceipt: string;
  /** The message body as text (JSON for the backup interface). */
  text: string;
  /** How many times the message has been received, this time included. */
  dequeueCount: number;
}

export interface MessageQueue {
  readonly name: string;
  /** Creates the queue if it does not exist. */
  ensureExists(): Promise<void>;
  send(text: string): Promise<void>;
  /** Up to `max` (1–32) messages, each invisible to others for `visibilityTimeoutSeconds`. */
  receive(max: number, visibilityTimeoutSeconds: number): Promise<ReceivedMessage[]>;
  /** Deletes a received message. Resolves false when it was already gone or the receipt is stale. */
  delete(message: Pick<ReceivedMessage, 'messageId' | 'popReceipt'>): Promise<boolean>;
  /** Approximate number of messages waiting (for health and tests). */
  approximateCount(): Promise<number>;
}

export interface InterfaceQueues {
  /** Outbound: backup requests for the interface (default `backup-requests`). */
  requests: MessageQueue;
  /** Inbound: status replies from the interface (default `backup-statuses`). */
  statuses: MessageQueue;
  /** Where invalid replies go, with the reason (default `backup-statuses-poison`). */
  poison: MessageQueue;
}
