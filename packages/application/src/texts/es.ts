import type { Catalog } from './catalog.ts';

export const spanish: Catalog = {
  mainMenu: {
    body: (name) =>
      `${name === undefined ? '¡Hola!' : `¡Hola, ${name}!`} Soy PrestaBot: te ayudo a llevar la cuenta de lo que prestas y de lo que te prestan. ¿Qué quieres hacer?`,
    newLoan: 'Nuevo préstamo',
    myLoans: 'Mis préstamos',
    myProfile: 'Mi perfil',
    footer: 'AYUDA: qué puedes escribir · BAJA: no recibir avisos',
  },
  help: 'No entendí tu mensaje. Escribe *ayuda* para ver lo que puedes escribir, o *menu* para ver las opciones.',
  commands: [
    'Puedes escribirme:',
    '• *nuevo préstamo*: registrar algo que prestaste',
    '• *mis préstamos*: ver tus préstamos y qué hacer con cada uno',
    '• *sí* o *no*: confirmar o rechazar un préstamo que te registraron',
    '• *cancelar*: dejar a medias lo que estás haciendo',
    '• *menu*: ver las opciones',
    '• *baja*: dejar de recibir recordatorios y avisos (*alta* para volver a recibirlos)',
  ].join('\n'),
  cannotReadYet:
    'Todavía no puedo leer este tipo de mensaje. Escríbeme con texto o escribe *menu* para ver las opciones.',
  optedOut: 'Listo, no te enviaré más recordatorios ni avisos. Si cambias de opinión, escribe *ALTA*.',
  optedIn:
    '¡Bienvenido de vuelta! Volverás a recibir recordatorios y avisos. Escribe *BAJA* para dejar de recibirlos.',
  newLoan: {
    askBorrower:
      '¿A quién le prestaste? Comparte su contacto 📇 o escribe su nombre y teléfono, por ejemplo: *Ana +56 9 1234 5678*. Escribe *cancelar* para salir.',
    askBorrowerPhone: (name) => `¿Cuál es el teléfono de ${name}? Por ejemplo: *+56 9 1234 5678*.`,
    invalidPhone: (input) =>
      `"${input}" no parece un teléfono. Escríbelo con código de país, por ejemplo: *+56 9 1234 5678*.`,
    cardWithoutPhone: 'Ese contacto no tiene teléfono. Comparte otro o escribe su nombre y teléfono.',
    selfLoan: 'No puedes registrar un préstamo contigo mismo. ¿A quién le prestaste?',
    askKind: (borrower) => `¿Qué le prestaste a ${borrower}?`,
    money: 'Dinero',
    object: 'Un objeto',
    askKindAgain: 'Elige *Dinero* o *Un objeto*.',
    askAmount: (example) => `¿Cuánto le prestaste? Por ejemplo: *${example}* o *5 mil*.`,
    invalidAmount: (example) => `No entendí el monto. Escríbelo así: *${example}* o *5 mil*.`,
    amountRefused: {
      noDecimals: (currency, example) =>
        `Los montos en ${currency} van sin centavos. Escríbelo entero, por ejemplo: *${example}*.`,
      ambiguous: (number, example) =>
        `"${number}" se puede leer de dos maneras. Usa punto para los miles, por ejemplo: *${example}*.`,
      notPositive: (example) => `El monto tiene que ser mayor que cero, por ejemplo: *${example}*.`,
      tooLarge: (max) => `Ese monto es demasiado grande: el máximo es ${max}.`,
    },
    askDescription: '¿Qué objeto le prestaste? Por ejemplo: *taladro* o *libro de cálculo*.',
    invalidDescription: 'Descríbelo con al menos 3 letras (máximo 200).',
    askDueDate: '¿Cuándo te lo devuelve? Elige una opción o escribe la fecha (*dd/mm* o *dd/mm/aaaa*).',
    tomorrow: 'Mañana',
    oneWeek: 'En una semana',
    endOfMonth: 'Fin de mes',
    dueDateInThePast: 'Esa fecha ya pasó. Escribe una fecha de hoy en adelante (*dd/mm*).',
    invalidDueDate: 'No entendí la fecha. Escríbela como *dd/mm* o *dd/mm/aaaa*, o elige una opción.',
    summary: (facts) =>
      `Revisa el préstamo:\n• A: ${facts.borrower}\n• Qué: ${facts.loan}\n• Devolución: ${facts.dueDate}\n\n¿Lo registro?`,
    confirm: 'Confirmar',
    cancel: 'Cancelar',
    confirmOrCancel: 'Responde *Confirmar* para registrarlo o *Cancelar* para descartarlo.',
    cancelled: 'Listo, descarté ese préstamo.',
    expired: 'Esa conversación ya terminó. Escribe *menu* para empezar de nuevo.',
    recorded: (facts) =>
      `Registrado ✅. Le pedí a ${facts.borrower} que confirme el préstamo de ${facts.loan}; te aviso cuando responda.`,
    recordedWaiting: (held) => `Registrado ✅. ${held}`,
  },
  requestHeld: {
    noWindow: (name, link) =>
      `No puedo escribirle a ${name} hasta que nos escriba: le pediré que confirme apenas lo haga.${link === undefined ? '' : ` Puedes enviarle este enlace para que nos escriba: ${link}`}`,
    optedOut: (name, link) =>
      `${name} pidió no recibir mensajes: le pediré que confirme cuando vuelva a escribirnos.${link === undefined ? '' : ` Puedes enviarle este enlace: ${link}`}`,
    opener: 'Hola',
  },
  requestDelivered: (name) => `Le envié tu solicitud a ${name}. Te aviso cuando responda.`,
  confirmation: {
    request: (facts) =>
      `${facts.lender} registró que te prestó ${facts.loan}, con devolución el ${facts.dueDate}. ¿Lo confirmas?`,
    accept: 'Sí, confirmo',
    reject: 'No, rechazar',
    acceptedToBorrower: (facts) =>
      `Confirmado ✅. Te recordaré devolver ${facts.loan} a ${facts.lender} el ${facts.dueDate}.`,
    acceptedToLender: (facts) =>
      `${facts.borrower} confirmó el préstamo de ${facts.loan} ✅. Le recordaré la devolución del ${facts.dueDate}.`,
    rejectedToBorrower: (facts) => `Listo, rechazaste el préstamo de ${facts.loan} de ${facts.lender}.`,
    rejectedToLender: (facts) => `${facts.borrower} rechazó el préstamo de ${facts.loan}.`,
    whichOne: 'Tienes varios préstamos por confirmar. Elige cuál:',
  },
  myLoans: {
    none: 'No tienes préstamos registrados. Escribe *menu* y elige *Nuevo préstamo* para registrar uno.',
    body: 'Tus préstamos. Elige uno para ver qué puedes hacer:',
    button: 'Ver préstamos',
    lent: 'Prestaste',
    borrowed: 'Te prestaron',
    row: (loan, counterpart) => `${counterpart} · ${loan}`,
    rowDescription: (dueDate, status) => `Vence ${dueDate} · ${status}`,
    status: {
      pending_confirmation: 'por confirmar',
      active: 'activo',
      returned: 'devuelto',
      rejected: 'rechazado',
      cancelled: 'cancelado',
      return_claimed: 'devolución por confirmar',
    },
    detail: (facts) =>
      `${facts.youAre === 'lender' ? `Le prestaste ${facts.loan} a ${facts.borrower}` : `${facts.lender} te prestó ${facts.loan}`}.\nDevolución: ${facts.dueDate}\nEstado: ${facts.status}`,
    noActions: 'No hay acciones pendientes para este préstamo.',
  },
  actions: {
    labels: {
      mark_returned: 'Ya me lo devolvió',
      claim_returned: 'Ya lo devolví',
      confirm_return: 'Sí, lo recibí',
      deny_return: 'Aún no',
      cancel: 'Cancelar préstamo',
      remind: 'Recordar ahora',
      accept: 'Sí, confirmo',
      reject: 'No, rechazar',
    },
    notFound: 'No encontré ese préstamo.',
    notAllowed: 'Ese préstamo ya no permite esa acción. Escribe *mis préstamos* para ver su estado.',
    remindTooSoon: (date, time) =>
      `Ya enviaste un recordatorio de este préstamo hace menos de un día. Podrás enviar otro el ${date} a las ${time}.`,
    alreadyDone: {
      confirmed: (date) => `Ese préstamo ya se confirmó el ${date}.`,
      rejected: (date) => `Ese préstamo ya se rechazó el ${date}.`,
      returned: (date) => `Ese préstamo ya se marcó como devuelto el ${date}.`,
      cancelled: (date) => `Ese préstamo ya se canceló el ${date}.`,
      return_claimed: (date) =>
        `La devolución de ese préstamo ya se avisó el ${date}; falta que quien prestó la confirme.`,
    },
    markedReturnedToLender: (facts) => `Marcado como devuelto ✅: ${facts.loan} de ${facts.borrower}.`,
    markedReturnedToBorrower: (facts) => `${facts.lender} marcó como devuelto ${facts.loan}. ¡Gracias!`,
    claimSentToBorrower: (facts) => `Le pedí a ${facts.lender} que confirme que recibió ${facts.loan}.`,
    claimWaiting: (facts, held) => `Anoté que devolviste ${facts.loan} a ${facts.lender}. ${held}`,
    claimToLender: (facts) => `${facts.borrower} dice que te devolvió ${facts.loan}. ¿Lo recibiste?`,
    returnDeniedToLender: (facts) => `Listo, le avisé a ${facts.borrower} que aún no recibes ${facts.loan}.`,
    returnDeniedToBorrower: (facts) => `${facts.lender} dice que aún no recibe ${facts.loan}.`,
    cancelledToLender: (facts) => `Cancelaste el préstamo de ${facts.loan} a ${facts.borrower}.`,
    cancelledToBorrower: (facts) => `${facts.lender} canceló el registro del préstamo de ${facts.loan}.`,
    reminderSent: (facts) => `Le envié un recordatorio a ${facts.borrower}.`,
    requestResent: (facts) => `Le volví a pedir a ${facts.borrower} que confirme el préstamo.`,
  },
  reminders: {
    dayBefore: (facts) =>
      `Recordatorio: mañana (${facts.dueDate}) vence la devolución de ${facts.loan} a ${facts.lender}.`,
    dueDay: (facts) => `Recordatorio: hoy vence la devolución de ${facts.loan} a ${facts.lender}.`,
    overdue: (facts) =>
      `La devolución de ${facts.loan} a ${facts.lender} venció hace ${facts.days} ${facts.days === 1 ? 'día' : 'días'} (${facts.dueDate}).`,
    lenderOverdueNotice: (facts) =>
      `${facts.borrower} no ha devuelto ${facts.loan}; vencía el ${facts.dueDate}.`,
    manual: (facts) => `${facts.lender} te recuerda devolver ${facts.loan} (vence el ${facts.dueDate}).`,
  },
  profile: {
    body: 'Completa o actualiza tu perfil: tu nombre, tu correo y la cuenta donde te pueden devolver dinero.',
    cta: 'Mi perfil',
    notAvailable: 'El perfil todavía no está disponible en este número.',
    updated: (name) => `¡Listo, ${name}! Guardé tu perfil ✅`,
    flowExpired: 'Este formulario expiró. Escribe *menu* y elige *Mi perfil* para abrirlo de nuevo.',
    alreadySubmitted:
      'Este formulario ya se envió. Escribe *menu* y elige *Mi perfil* para cambiar tu perfil de nuevo.',
    accountTypes: {
      checking: 'Cuenta corriente',
      savings: 'Cuenta de ahorro',
      sight: 'Cuenta vista / RUT',
      other: 'Otra',
    },
    invalid: {
      name: 'Escribe tu nombre (2 a 60 letras).',
      email: 'Ese correo no parece válido.',
      bankName: 'Escribe el nombre del banco (hasta 40 caracteres).',
      accountType: 'Elige el tipo de cuenta.',
      accountNumber: 'El número de cuenta lleva de 4 a 30 dígitos (puede tener guiones).',
      holderName: 'Escribe el nombre del titular (2 a 60 letras).',
    },
  },
  notDelivered: {
    optedOut: (name) => `No pude avisarle a ${name}: pidió no recibir mensajes.`,
    noTemplate: (name) =>
      `No pude avisarle a ${name}: no nos ha escrito en las últimas 24 horas y no hay una plantilla aprobada para este aviso.`,
    heldBehindLimit: (name) =>
      `El aviso para ${name} quedó en cola: WhatsApp limita a cuántas personas nuevas podemos escribir al día. Saldrá apenas el límite lo permita.`,
  },
};
