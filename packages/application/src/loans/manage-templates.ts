import {
  type AgreementAction,
  agreementActions,
  err,
  errAsync,
  ok,
  parseTenantId,
  type Result,
  type ResultAsync,
  safeTry,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { InvalidInput } from '../manage-tenants/manage-tenants.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import {
  type RegisteredTemplate,
  type TemplatePurpose,
  type TemplateVariable,
  templatePurposes,
  templateVariables,
} from './loan-stores.port.ts';

export type TemplateInput = {
  readonly tenant: string;
  readonly purpose: string;
  readonly name: string;
  readonly language: string;
  /** `loan,due_date` (positional) or `borrower=borrower_name,loan=loan` (named). */
  readonly parameters?: string;
  /** `accept,reject`: the template's quick-reply buttons in order. */
  readonly quickReplies?: string;
};

export type ManageTemplatesError =
  | InvalidInput
  | { readonly type: 'tenant_not_found'; readonly tenantId: string }
  | StorageError;

const invalid = (field: string, value: string, expected: string): InvalidInput => ({
  type: 'invalid_input',
  field,
  value,
  expected,
});

const listOf = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const parametersOf = (value: string | undefined): Result<RegisteredTemplate['parameters'], InvalidInput> => {
  const parameters: { variable: TemplateVariable; name?: string }[] = [];
  for (const item of listOf(value)) {
    const [first, second] = item.split('=').map((part) => part.trim());
    const variableName = second ?? first ?? '';
    const variable = templateVariables.find((candidate) => candidate === variableName);
    if (variable === undefined)
      return err(
        invalid(
          '--parameters',
          item,
          `values from ${templateVariables.join(', ')}, optionally as name=value`,
        ),
      );
    if (second !== undefined && !/^[a-z_]{1,20}$/.test(first ?? ''))
      return err(invalid('--parameters', item, 'a parameter name of a-z and _ (at most 20)'));
    parameters.push(second === undefined ? { variable } : { variable, name: first! });
  }
  return ok(parameters);
};

const quickRepliesOf = (value: string | undefined): Result<readonly AgreementAction[], InvalidInput> => {
  const actions: AgreementAction[] = [];
  for (const item of listOf(value)) {
    const action = agreementActions.find((candidate) => candidate === item);
    if (action === undefined)
      return err(invalid('--quick-replies', item, `actions from ${agreementActions.join(', ')}`));
    actions.push(action);
  }
  return ok(actions);
};

/** The operator registers each tenant's approved templates: which one serves which purpose, and how. */
export class ManageTemplates {
  readonly #unitOfWork: TenantUnitOfWork;

  constructor(unitOfWork: TenantUnitOfWork) {
    this.#unitOfWork = unitOfWork;
  }

  add(input: TemplateInput): ResultAsync<RegisteredTemplate, ManageTemplatesError> {
    const unitOfWork = this.#unitOfWork;
    return safeTry(async function* () {
      const tenantId = yield* parseTenantId(input.tenant).mapErr(() =>
        invalid('--tenant', input.tenant, 'a tenant id (UUID) from `prestabot tenants list`'),
      );
      const purpose = templatePurposes.find(
        (candidate): candidate is TemplatePurpose => candidate === input.purpose,
      );
      if (purpose === undefined)
        return err(invalid('--purpose', input.purpose, `one of ${templatePurposes.join(', ')}`));
      if (!/^[a-z0-9_]{1,512}$/.test(input.name))
        return err(invalid('--name', input.name, 'the template name from WhatsApp Manager (a-z, 0-9, _)'));
      if (!/^[a-z]{2,3}(_[A-Z]{2})?$/.test(input.language))
        return err(invalid('--language', input.language, 'a language code such as es or es_CL'));
      const template: RegisteredTemplate = {
        purpose,
        name: input.name,
        language: input.language,
        parameters: yield* parametersOf(input.parameters),
        quickReplies: yield* quickRepliesOf(input.quickReplies),
      };
      yield* unitOfWork.run(tenantId, (repositories) =>
        repositories.tenant
          .current()
          .andThen(
            (tenant): ResultAsync<void, ManageTemplatesError> =>
              tenant === undefined
                ? errAsync({ type: 'tenant_not_found', tenantId })
                : repositories.templates.upsert(template),
          ),
      );
      return ok(template);
    });
  }

  list(tenant: string): ResultAsync<readonly RegisteredTemplate[], ManageTemplatesError> {
    const unitOfWork = this.#unitOfWork;
    return safeTry(async function* () {
      const tenantId = yield* parseTenantId(tenant).mapErr(() =>
        invalid('--tenant', tenant, 'a tenant id (UUID) from `prestabot tenants list`'),
      );
      return ok(yield* unitOfWork.run(tenantId, (repositories) => repositories.templates.list()));
    });
  }
}
