export interface IdGenerator {
  /** A new random UUID. */
  uuid(): string;
}
