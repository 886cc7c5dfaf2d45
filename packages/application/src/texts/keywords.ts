// The words people type instead of tapping a button, after `normalizeCommand` (lower case, no accents or
// punctuation): one place to add a word a tenant's people use.

export const newLoanWords = new Set(['nuevo prestamo', 'prestar', 'preste', 'new loan', 'lend']);
export const myLoansWords = new Set(['mis prestamos', 'prestamos', 'my loans', 'loans']);
export const cancelWords = new Set(['cancelar', 'cancel', 'salir']);
export const yesWords = new Set([
  'si',
  'si confirmo',
  'confirmar',
  'confirmo',
  'yes',
  'ok',
  'dale',
  'confirm',
  'yes i confirm',
]);
export const noWords = new Set(['no', 'no rechazar', 'rechazar', 'reject', 'no reject']);
export const moneyWords = new Set(['dinero', 'plata', 'money', 'cash', '1']);
export const objectWords = new Set(['objeto', 'un objeto', 'cosa', 'object', 'an object', 'thing', '2']);
export const menuWords = new Set(['hola', 'menu', 'inicio', 'hi', 'hello']);
export const helpWords = new Set(['ayuda', 'help', 'comandos', 'commands']);
/** Opting out stops every message the bot would start; opting in resumes them. */
export const optOutWords = new Set(['stop', 'baja', 'unsubscribe', 'darme de baja']);
export const optInWords = new Set(['start', 'alta', 'subscribe', 'darme de alta']);
