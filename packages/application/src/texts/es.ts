import type { Catalog } from './catalog.ts';

export const spanish: Catalog = {
  mainMenu: {
    body: (name) =>
      `${name === undefined ? '¡Hola!' : `¡Hola, ${name}!`} Soy PrestaBot: te ayudo a llevar la cuenta de lo que prestas y de lo que te prestan. ¿Qué quieres hacer?`,
    newLoan: 'Nuevo préstamo',
    myLoans: 'Mis préstamos',
    myProfile: 'Mi perfil',
  },
  help: 'No entendí tu mensaje. Escribe *menu* para ver lo que puedo hacer.',
  cannotReadYet:
    'Todavía no puedo leer este tipo de mensaje. Escríbeme con texto o escribe *menu* para ver las opciones.',
};
