export interface IdGenerator {
  /** A new UUID, unique and unguessable enough to serve as a key (not as a secret). */
  uuid(): string;
}
