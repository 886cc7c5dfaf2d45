/**
 * A storage failure, as every repository port reports it. Adapters translate their driver's errors into
 * one of these reasons; callers decide what each means to them (503, retry, a clear message).
 */
export type StorageError = {
  readonly type: 'storage_error';
  readonly reason: /** The store cannot be reached: try again later (a webhook answers 503 so Meta retries). */
    | 'unavailable'
    /** A transient conflict (serialization failure, deadlock): the same work may be retried. */
    | 'retryable'
    /** A unique key already holds this value. */
    | 'duplicate'
    /**
     * The data was refused: a reference or check constraint, or a value the database cannot hold (a
     * data exception such as invalid json, a row over an index's size limit).
     */
    | 'constraint'
    | 'unexpected';
  readonly message: string;
};

/** The write failed for what it carried, not for the database's state: trying it again changes nothing. */
export const refusesTheData = (error: StorageError): boolean => error.reason === 'constraint';

export const storageError = (reason: StorageError['reason'], message: string): StorageError => ({
  type: 'storage_error',
  reason,
  message,
});
