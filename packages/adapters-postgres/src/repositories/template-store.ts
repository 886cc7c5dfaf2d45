import type {
  RegisteredTemplate,
  StorageError,
  TemplatePurpose,
  TemplateStop,
  TemplateStore,
} from '@prestabot/application';
import type { ResultAsync } from '@prestabot/domain';
import { readOptionalRow, readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { templateColumnsSql, templateRow } from './template.row.ts';

export class PostgresTemplateStore implements TemplateStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /** A template registered through the port is approved: WhatsApp Manager approved it first. */
  upsert(template: RegisteredTemplate): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.templates (purpose, name, language, parameters, quick_replies, status)
         VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'approved')
         ON CONFLICT (tenant_id, purpose, language) DO UPDATE
           SET name = excluded.name, parameters = excluded.parameters, quick_replies = excluded.quick_replies,
               status = excluded.status, status_reason = NULL`,
        [
          template.purpose,
          template.name,
          template.language,
          JSON.stringify(template.parameters),
          JSON.stringify(template.quickReplies),
        ],
      )
      .map(() => undefined);
  }

  /** The exact language (`es_CL`) when registered, else its base language (`es`). */
  find(
    purpose: TemplatePurpose,
    language: string,
  ): ResultAsync<RegisteredTemplate | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT ${templateColumnsSql} FROM prestabot.templates
         WHERE purpose = $1 AND language IN ($2, split_part($2, '_', 1)) AND status = 'approved'
         ORDER BY language = $2 DESC
         LIMIT 1`,
        [purpose, language],
      )
      .andThen(readOptionalRow(templateRow, 'template'));
  }

  recordMetaStatus(
    name: string,
    language: string,
    stopped: TemplateStop | undefined,
  ): ResultAsync<number, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.templates SET status = $3, status_reason = $4
         WHERE name = $1 AND language = $2
         RETURNING id`,
        [name, language, stopped?.status ?? 'approved', stopped?.reason ?? null],
      )
      .map((rows) => rows.length);
  }

  list(): ResultAsync<readonly RegisteredTemplate[], StorageError> {
    return this.#session
      .query(`SELECT ${templateColumnsSql} FROM prestabot.templates ORDER BY created_at, id`)
      .andThen(readRows(templateRow, 'template'));
  }
}
