import type { Catalog } from './catalog.ts';

export const english: Catalog = {
  mainMenu: {
    body: (name) =>
      `${name === undefined ? 'Hi!' : `Hi, ${name}!`} I'm PrestaBot: I help you keep track of what you lend and what you borrow. What would you like to do?`,
    newLoan: 'New loan',
    myLoans: 'My loans',
    myProfile: 'My profile',
    footer: 'HELP: what you can type · STOP: no more notices',
  },
  help: "I didn't understand that. Type *help* to see what you can type, or *menu* for the options.",
  commands: [
    'You can type:',
    '• *new loan*: record something you lent',
    '• *my loans*: see your loans and what you can do with each',
    '• *yes* or *no*: confirm or reject a loan someone recorded to you',
    '• *cancel*: drop what you are in the middle of',
    '• *menu*: see the options',
    '• *stop*: stop reminders and notices (*start* to get them again)',
  ].join('\n'),
  cannotReadYet:
    "I can't read this kind of message yet. Write to me in text, or type *menu* to see the options.",
  optedOut: "Done, I won't send you reminders or notices any more. If you change your mind, type *START*.",
  optedIn: "Welcome back! You'll get reminders and notices again. Type *STOP* to stop them.",
  newLoan: {
    askBorrower:
      'Who did you lend to? Share their contact 📇 or type their name and phone, e.g. *Ana +56 9 1234 5678*. Type *cancel* to stop.',
    askBorrowerPhone: (name) => `What is ${name}'s phone number? For example: *+56 9 1234 5678*.`,
    invalidPhone: (input) =>
      `"${input}" doesn't look like a phone number. Type it with the country code, e.g. *+56 9 1234 5678*.`,
    cardWithoutPhone: 'That contact has no phone number. Share another one, or type their name and phone.',
    selfLoan: "You can't record a loan to yourself. Who did you lend to?",
    askKind: (borrower) => `What did you lend ${borrower}?`,
    money: 'Money',
    object: 'An object',
    askKindAgain: 'Choose *Money* or *An object*.',
    askAmount: (example) => `How much did you lend? For example: *${example}*.`,
    invalidAmount: (example) => `I didn't get the amount. Type it like this: *${example}*.`,
    amountRefused: {
      noDecimals: (currency, example) =>
        `Amounts in ${currency} have no cents. Type a whole amount, e.g. *${example}*.`,
      ambiguous: (number, example) =>
        `"${number}" can be read two ways. Use a comma for thousands, e.g. *${example}*.`,
      notPositive: (example) => `The amount must be more than zero, e.g. *${example}*.`,
      tooLarge: (max) => `That amount is too large: the most is ${max}.`,
    },
    askDescription: 'What did you lend? For example: *drill* or *calculus book*.',
    invalidDescription: 'Describe it with at least 3 letters (200 at most).',
    askDueDate: 'When will you get it back? Pick an option or type the date (*dd/mm* or *dd/mm/yyyy*).',
    tomorrow: 'Tomorrow',
    oneWeek: 'In one week',
    endOfMonth: 'End of month',
    dueDateInThePast: 'That date has passed. Type a date from today on (*dd/mm*).',
    invalidDueDate: "I didn't get the date. Type it as *dd/mm* or *dd/mm/yyyy*, or pick an option.",
    summary: (facts) =>
      `Check the loan:\n• To: ${facts.borrower}\n• What: ${facts.loan}\n• Back by: ${facts.dueDate}\n\nShall I record it?`,
    confirm: 'Confirm',
    cancel: 'Cancel',
    confirmOrCancel: 'Reply *Confirm* to record it or *Cancel* to discard it.',
    cancelled: 'Done, I discarded that loan.',
    expired: 'That conversation is over. Type *menu* to start again.',
    recordedWaiting: (held) => `Recorded ✅. ${held}`,
    recorded: (facts) =>
      `Recorded ✅. I asked ${facts.borrower} to confirm the loan of ${facts.loan}; I'll tell you when they answer.`,
  },
  requestHeld: {
    noWindow: (name, link) =>
      `I can't write to ${name} until they write to us: I'll ask them to confirm as soon as they do.${link === undefined ? '' : ` You can send them this link to write to us: ${link}`}`,
    optedOut: (name, link) =>
      `${name} asked not to get messages: I'll ask them to confirm when they write to us again.${link === undefined ? '' : ` You can send them this link: ${link}`}`,
    opener: 'Hi',
  },
  requestDelivered: (name) => `I sent your request to ${name}. I'll tell you when they answer.`,
  confirmation: {
    request: (facts) =>
      `${facts.lender} recorded lending you ${facts.loan}, to be returned on ${facts.dueDate}. Do you confirm?`,
    accept: 'Yes, I confirm',
    reject: 'No, reject',
    acceptedToBorrower: (facts) =>
      `Confirmed ✅. I'll remind you to return ${facts.loan} to ${facts.lender} on ${facts.dueDate}.`,
    acceptedToLender: (facts) =>
      `${facts.borrower} confirmed the loan of ${facts.loan} ✅. I'll remind them before ${facts.dueDate}.`,
    rejectedToBorrower: (facts) => `Done, you rejected the loan of ${facts.loan} from ${facts.lender}.`,
    rejectedToLender: (facts) => `${facts.borrower} rejected the loan of ${facts.loan}.`,
    whichOne: 'You have several loans to confirm. Pick one:',
  },
  myLoans: {
    none: 'You have no loans recorded. Type *menu* and choose *New loan* to record one.',
    body: 'Your loans. Pick one to see what you can do:',
    button: 'See loans',
    lent: 'You lent',
    borrowed: 'You borrowed',
    row: (loan, counterpart) => `${counterpart} · ${loan}`,
    rowDescription: (dueDate, status) => `Due ${dueDate} · ${status}`,
    status: {
      pending_confirmation: 'to be confirmed',
      active: 'active',
      returned: 'returned',
      rejected: 'rejected',
      cancelled: 'cancelled',
      return_claimed: 'return to be confirmed',
    },
    detail: (facts) =>
      `${facts.youAre === 'lender' ? `You lent ${facts.loan} to ${facts.borrower}` : `${facts.lender} lent you ${facts.loan}`}.\nBack by: ${facts.dueDate}\nStatus: ${facts.status}`,
    noActions: 'Nothing left to do for this loan.',
  },
  actions: {
    labels: {
      mark_returned: 'Got it back',
      claim_returned: 'I returned it',
      confirm_return: 'Yes, I got it',
      deny_return: 'Not yet',
      cancel: 'Cancel loan',
      remind: 'Remind now',
      accept: 'Yes, I confirm',
      reject: 'No, reject',
    },
    notFound: "I couldn't find that loan.",
    notAllowed: 'That loan no longer allows that. Type *my loans* to see where it stands.',
    remindTooSoon: (date, time) =>
      `You sent a reminder for this loan less than a day ago. You can send another on ${date} at ${time}.`,
    alreadyDone: {
      confirmed: (date) => `That loan was already confirmed on ${date}.`,
      rejected: (date) => `That loan was already rejected on ${date}.`,
      returned: (date) => `That loan was already marked as returned on ${date}.`,
      cancelled: (date) => `That loan was already cancelled on ${date}.`,
      return_claimed: (date) =>
        `The return of that loan was already reported on ${date}; the lender has yet to confirm it.`,
    },
    markedReturnedToLender: (facts) => `Marked as returned ✅: ${facts.loan} from ${facts.borrower}.`,
    markedReturnedToBorrower: (facts) => `${facts.lender} marked ${facts.loan} as returned. Thanks!`,
    claimSentToBorrower: (facts) => `I asked ${facts.lender} to confirm they got ${facts.loan} back.`,
    claimWaiting: (facts, held) => `I noted that you returned ${facts.loan} to ${facts.lender}. ${held}`,
    claimToLender: (facts) => `${facts.borrower} says they returned ${facts.loan}. Did you get it?`,
    returnDeniedToLender: (facts) => `Done, I told ${facts.borrower} you haven't got ${facts.loan} yet.`,
    returnDeniedToBorrower: (facts) => `${facts.lender} says they haven't got ${facts.loan} back yet.`,
    cancelledToLender: (facts) => `You cancelled the loan of ${facts.loan} to ${facts.borrower}.`,
    cancelledToBorrower: (facts) => `${facts.lender} cancelled the record of the loan of ${facts.loan}.`,
    reminderSent: (facts) => `I sent ${facts.borrower} a reminder.`,
    requestResent: (facts) => `I asked ${facts.borrower} again to confirm the loan.`,
  },
  reminders: {
    dayBefore: (facts) =>
      `Reminder: ${facts.loan} is due back to ${facts.lender} tomorrow (${facts.dueDate}).`,
    dueDay: (facts) => `Reminder: ${facts.loan} is due back to ${facts.lender} today.`,
    overdue: (facts) =>
      `${facts.loan} was due back to ${facts.lender} ${facts.days} ${facts.days === 1 ? 'day' : 'days'} ago (${facts.dueDate}).`,
    lenderOverdueNotice: (facts) =>
      `${facts.borrower} hasn't returned ${facts.loan}; it was due on ${facts.dueDate}.`,
    manual: (facts) => `${facts.lender} reminds you to return ${facts.loan} (due ${facts.dueDate}).`,
  },
  profile: {
    body: 'Complete or update your profile: your name, your email and the account you can be paid back to.',
    cta: 'My profile',
    notAvailable: 'The profile is not available on this number yet.',
    updated: (name) => `Done, ${name}! Your profile is saved ✅`,
    flowExpired: 'This form has expired. Type *menu* and choose *My profile* to open it again.',
    alreadySubmitted:
      'This form was already sent. Type *menu* and choose *My profile* to change your profile again.',
    accountTypes: {
      checking: 'Checking account',
      savings: 'Savings account',
      sight: 'Sight account',
      other: 'Other',
    },
    invalid: {
      name: 'Type your name (2 to 60 letters).',
      email: "That email doesn't look valid.",
      bankName: 'Type the name of the bank (up to 40 characters).',
      accountType: 'Choose the account type.',
      accountNumber: 'The account number has 4 to 30 digits (dashes allowed).',
      holderName: "Type the account holder's name (2 to 60 letters).",
    },
  },
  notDelivered: {
    optedOut: (name) => `I couldn't tell ${name}: they asked not to receive messages.`,
    noTemplate: (name) =>
      `I couldn't tell ${name}: they haven't written in the last 24 hours and there is no approved template for this notice.`,
    heldBehindLimit: (name) =>
      `The notice to ${name} is queued: WhatsApp limits how many new people we may write to each day. It goes out as soon as the limit allows.`,
  },
};
