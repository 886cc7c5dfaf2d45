import { okAsync, type TenantId } from '@prestabot/domain';
import type { RegisteredTemplate, TemplateStore } from '../../loans/loan-stores.port.ts';
import type { State } from './state.ts';

export const templateStore = (tenantId: TenantId, state: State): TemplateStore => {
  const key = (purpose: string, language: string) => `${tenantId}|${purpose}|${language}`;
  const withoutTenant = ({
    tenantId: _tenant,
    ...template
  }: RegisteredTemplate & { readonly tenantId: TenantId }): RegisteredTemplate => template;
  return {
    upsert: ({ stopped: _registeredAgain, ...template }) => {
      state.templates.set(key(template.purpose, template.language), { ...template, tenantId });
      return okAsync(undefined);
    },
    find: (purpose, language) => {
      const usable = (found: (RegisteredTemplate & { readonly tenantId: TenantId }) | undefined) =>
        found?.stopped === undefined ? found : undefined;
      const found =
        usable(state.templates.get(key(purpose, language))) ??
        usable(state.templates.get(key(purpose, language.split('_')[0] ?? language)));
      return okAsync(found === undefined ? undefined : withoutTenant(found));
    },
    recordMetaStatus: (name, language, stopped) => {
      let changed = 0;
      for (const [id, template] of state.templates) {
        if (template.tenantId !== tenantId || template.name !== name || template.language !== language)
          continue;
        const { stopped: _previous, ...rest } = template;
        state.templates.set(id, stopped === undefined ? rest : { ...rest, stopped });
        changed += 1;
      }
      return okAsync(changed);
    },
    list: () =>
      okAsync(
        [...state.templates.peekValues()]
          .filter((template) => template.tenantId === tenantId)
          .map(withoutTenant),
      ),
  };
};
