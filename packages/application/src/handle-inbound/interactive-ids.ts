/**
 * Ids of our buttons and list rows. Every id names the action and the record it acts on, so a tap is
 * never interpreted as "the most recent one".
 */
export type MenuAction = 'new_loan' | 'my_loans' | 'my_profile';

const menuPrefix = 'menu:';
const menuActions: readonly MenuAction[] = ['new_loan', 'my_loans', 'my_profile'];

export const menuAction = (action: MenuAction): string => `${menuPrefix}${action}`;

export const parseMenuAction = (id: string): MenuAction | undefined => {
  if (!id.startsWith(menuPrefix)) return undefined;
  const action = id.slice(menuPrefix.length);
  return menuActions.find((candidate) => candidate === action);
};
