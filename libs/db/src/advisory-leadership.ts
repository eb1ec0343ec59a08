import pg from 'pg';

/**
 * Leadership by a session-level Postgres advisory lock held on a connection of its own (SPEC §6):
 * exactly one holder across every host; the lock dies with its session, so when the leader's
 * process or connection dies, the next `tryAcquire` elsewhere wins.
 */
export class AdvisoryLeadership {
  private client: pg.Client | undefined;

  /**
   * `applicationName` names the lock's session in pg_stat_activity: with the host and pid in it, an
   * operator finds which instance of which host leads (`SELECT application_name FROM pg_locks JOIN
   * pg_stat_activity USING (pid) WHERE locktype = 'advisory'`).
   */
  constructor(
    private readonly databaseUrl: string,
    private readonly lockKey: number,
    private readonly connectTimeoutMs: number,
    private readonly applicationName = 'linebacker leader election',
  ) {}

  get isLeader(): boolean {
    return this.client !== undefined;
  }

  /** True when this process holds (or just took) the lock. Never throws. */
  async tryAcquire(): Promise<boolean> {
    if (this.client) return true;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: this.connectTimeoutMs,
      application_name: this.applicationName,
      keepAlive: true,
    });
    // a dropped connection means the lock is gone: step down
    client.on('error', () => this.stepDown(client));
    client.on('end', () => this.stepDown(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [this.lockKey]);
      if (rows[0]?.locked) {
        this.client = client;
        return true;
      }
    } catch {
      // Postgres unavailable: not the leader this time
    }
    await client.end().catch(() => undefined);
    return false;
  }

  /** Gives the lock up (by closing its session). */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private stepDown(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
  }
}
