import type { Locale } from '@prestabot/domain';
import { english } from './en.ts';
import { spanish } from './es.ts';

/** A loan as people read it: "$5.000" or "un taladro". */
export type LoanFacts = {
  readonly lender: string;
  readonly borrower: string;
  readonly loan: string;
  readonly dueDate: string;
};

/** Every text the bot sends, per language. Code never spells out a user-facing sentence itself. */
export type Catalog = {
  readonly mainMenu: {
    readonly body: (name: string | undefined) => string;
    readonly newLoan: string;
    readonly myLoans: string;
    readonly myProfile: string;
    /** Under the menu's buttons (60 characters at most): how to get help and how to stop messages. */
    readonly footer: string;
  };
  /** What someone typed that nothing understood. */
  readonly help: string;
  /** The answer to "ayuda"/"help": everything a person can type, opting out included. */
  readonly commands: string;
  readonly cannotReadYet: string;
  readonly optedOut: string;
  readonly optedIn: string;
  readonly newLoan: {
    readonly askBorrower: string;
    readonly askBorrowerPhone: (name: string) => string;
    readonly invalidPhone: (input: string) => string;
    readonly cardWithoutPhone: string;
    readonly selfLoan: string;
    readonly askKind: (borrower: string) => string;
    readonly money: string;
    readonly object: string;
    readonly askKindAgain: string;
    readonly askAmount: (example: string) => string;
    readonly invalidAmount: (example: string) => string;
    /** Why an amount that could be read is refused, each with an example that works. */
    readonly amountRefused: {
      readonly noDecimals: (currency: string, example: string) => string;
      readonly ambiguous: (number: string, example: string) => string;
      readonly notPositive: (example: string) => string;
      readonly tooLarge: (max: string) => string;
    };
    readonly askDescription: string;
    readonly invalidDescription: string;
    readonly askDueDate: string;
    readonly tomorrow: string;
    readonly oneWeek: string;
    readonly endOfMonth: string;
    readonly dueDateInThePast: string;
    readonly invalidDueDate: string;
    readonly summary: (facts: LoanFacts) => string;
    readonly confirm: string;
    readonly cancel: string;
    readonly confirmOrCancel: string;
    readonly cancelled: string;
    readonly expired: string;
    readonly recorded: (facts: LoanFacts) => string;
    /** Recorded, but the request to the borrower waits for them to write (`held` says why and what then). */
    readonly recordedWaiting: (held: string) => string;
  };
  /** A request the bot could not send waits for the person it asks to write; `link` opens a chat with the bot. */
  readonly requestHeld: {
    readonly noWindow: (name: string, link: string | undefined) => string;
    readonly optedOut: (name: string, link: string | undefined) => string;
    /** What the chat link types for the person, ready to send. */
    readonly opener: string;
  };
  /** To the person whose held request was just shown to the one it asks. */
  readonly requestDelivered: (name: string) => string;
  readonly confirmation: {
    readonly request: (facts: LoanFacts) => string;
    readonly accept: string;
    readonly reject: string;
    readonly acceptedToBorrower: (facts: LoanFacts) => string;
    readonly acceptedToLender: (facts: LoanFacts) => string;
    readonly rejectedToBorrower: (facts: LoanFacts) => string;
    readonly rejectedToLender: (facts: LoanFacts) => string;
    readonly whichOne: string;
  };
  readonly myLoans: {
    readonly none: string;
    readonly body: string;
    readonly button: string;
    readonly lent: string;
    readonly borrowed: string;
    readonly row: (loan: string, counterpart: string) => string;
    readonly rowDescription: (dueDate: string, status: string) => string;
    readonly status: Readonly<
      Record<
        'pending_confirmation' | 'active' | 'returned' | 'rejected' | 'cancelled' | 'return_claimed',
        string
      >
    >;
    readonly detail: (
      facts: LoanFacts & { readonly status: string; readonly youAre: 'lender' | 'borrower' },
    ) => string;
    readonly noActions: string;
  };
  readonly actions: {
    readonly labels: Readonly<
      Record<
        | 'mark_returned'
        | 'claim_returned'
        | 'confirm_return'
        | 'deny_return'
        | 'cancel'
        | 'remind'
        | 'accept'
        | 'reject',
        string
      >
    >;
    readonly notFound: string;
    readonly notAllowed: string;
    /** A manual reminder too soon after the last; `date` and `time` are when the next is possible. */
    readonly remindTooSoon: (date: string, time: string) => string;
    /** A tap on an action that already happened: what the loan became, and on which date. */
    readonly alreadyDone: Readonly<
      Record<'confirmed' | 'rejected' | 'returned' | 'cancelled' | 'return_claimed', (date: string) => string>
    >;
    readonly markedReturnedToLender: (facts: LoanFacts) => string;
    readonly markedReturnedToBorrower: (facts: LoanFacts) => string;
    readonly claimSentToBorrower: (facts: LoanFacts) => string;
    readonly claimWaiting: (facts: LoanFacts, held: string) => string;
    readonly claimToLender: (facts: LoanFacts) => string;
    readonly returnDeniedToLender: (facts: LoanFacts) => string;
    readonly returnDeniedToBorrower: (facts: LoanFacts) => string;
    readonly cancelledToLender: (facts: LoanFacts) => string;
    readonly cancelledToBorrower: (facts: LoanFacts) => string;
    readonly reminderSent: (facts: LoanFacts) => string;
    readonly requestResent: (facts: LoanFacts) => string;
  };
  readonly reminders: {
    readonly dayBefore: (facts: LoanFacts) => string;
    readonly dueDay: (facts: LoanFacts) => string;
    readonly overdue: (facts: LoanFacts & { readonly days: number }) => string;
    readonly lenderOverdueNotice: (facts: LoanFacts) => string;
    readonly manual: (facts: LoanFacts) => string;
  };
  readonly profile: {
    readonly body: string;
    readonly cta: string;
    readonly notAvailable: string;
    readonly updated: (name: string) => string;
    /** Shown by WhatsApp when the Flow's token is invalid or expired. */
    readonly flowExpired: string;
    /** Shown by WhatsApp when the Flow was already submitted with this token. */
    readonly alreadySubmitted: string;
    readonly accountTypes: Readonly<Record<'checking' | 'savings' | 'sight' | 'other', string>>;
    readonly invalid: Readonly<
      Record<'name' | 'email' | 'bankName' | 'accountType' | 'accountNumber' | 'holderName', string>
    >;
  };
  /** Why the other person could not be told, for the person who acted. */
  readonly notDelivered: {
    readonly optedOut: (name: string) => string;
    readonly noTemplate: (name: string) => string;
    /** Queued, but behind the daily limit on new people WhatsApp gives the tenant's numbers. */
    readonly heldBehindLimit: (name: string) => string;
  };
};

export const catalogFor = (locale: Locale): Catalog => (locale === 'en' ? english : spanish);
