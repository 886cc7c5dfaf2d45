import {
  type AgreementAction,
  type AgreementId,
  agreementActions,
  type DueDateOption,
  parseAgreementId,
} from '@prestabot/domain';

/**
 * Button and list ids of the loan conversation. A loan button carries the loan's id and the action; a
 * button of the loan being drafted carries the draft's id, so a tap on an old draft's button is noticed.
 */
export type LoanButton = {
  readonly kind: 'loan';
  readonly agreementId: AgreementId;
  readonly action: AgreementAction | 'view';
};

export type DraftChoice =
  | { readonly step: 'kind'; readonly value: 'money' | 'object' }
  | { readonly step: 'due'; readonly option: DueDateOption }
  | { readonly step: 'confirm' }
  | { readonly step: 'cancel' };

export type DraftButton = { readonly kind: 'draft'; readonly draftId: string; readonly choice: DraftChoice };

export const loanButtonId = (agreementId: AgreementId, action: AgreementAction | 'view'): string =>
  `loan:${agreementId}:${action}`;

export const draftButtonId = (draftId: string, choice: DraftChoice): string => {
  switch (choice.step) {
    case 'kind':
      return `draft:${draftId}:kind:${choice.value}`;
    case 'due':
      return `draft:${draftId}:due:${choice.option}`;
    case 'confirm':
    case 'cancel':
      return `draft:${draftId}:${choice.step}`;
  }
};

const dueOptions: readonly DueDateOption[] = ['tomorrow', 'one_week', 'end_of_month'];

export const parseLoanButton = (id: string): LoanButton | DraftButton | undefined => {
  const [prefix, target, ...rest] = id.split(':');
  if (prefix === 'loan' && target !== undefined && rest.length === 1) {
    const agreementId = parseAgreementId(target);
    const action = rest[0] === 'view' ? 'view' : agreementActions.find((candidate) => candidate === rest[0]);
    return agreementId.isOk() && action !== undefined
      ? { kind: 'loan', agreementId: agreementId.value, action }
      : undefined;
  }
  if (prefix !== 'draft' || target === undefined) return undefined;
  const [step, value] = rest;
  const choice: DraftChoice | undefined =
    step === 'kind' && (value === 'money' || value === 'object')
      ? { step, value }
      : step === 'due'
        ? (() => {
            const option = dueOptions.find((candidate) => candidate === value);
            return option === undefined ? undefined : { step, option };
          })()
        : (step === 'confirm' || step === 'cancel') && value === undefined
          ? { step }
          : undefined;
  return choice === undefined ? undefined : { kind: 'draft', draftId: target, choice };
};
