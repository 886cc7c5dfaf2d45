import type { Catalog } from './catalog.ts';

export const english: Catalog = {
  mainMenu: {
    body: (name) =>
      `${name === undefined ? 'Hi!' : `Hi, ${name}!`} I'm PrestaBot: I help you keep track of what you lend and what you borrow. What would you like to do?`,
    newLoan: 'New loan',
    myLoans: 'My loans',
    myProfile: 'My profile',
  },
  help: "I didn't understand that. Type *menu* to see what I can do.",
  cannotReadYet:
    "I can't read this kind of message yet. Write to me in text, or type *menu* to see the options.",
};
