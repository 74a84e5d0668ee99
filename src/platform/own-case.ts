import { type Actor, type Role, STAFF_ROLES } from './actor.ts';
import type { Db } from './db.ts';
import { ForbiddenError } from './errors.ts';

/**
 * What ties two people together in one module's data (an order one placed and the other bid on or works
 * on, a review one wrote of the other, a dispute between them), named for the refusal ("an order"), or
 * undefined when nothing does. Each module that holds such dealings answers for its own tables.
 */
export type TieFinder = (tx: Db, userId: string, otherUserId: string) => Promise<string | undefined>;

/**
 * How a staff member must not stand to the people a decision is about:
 * - `party`: be one of them (the author or subject of a review, a side of a dispute, the owner of a
 *   verification request, the account whose roles change);
 * - `dealings`: be one of them, or have dealings with one (what the modules' tie finders say): for
 *   decisions on a person's standing (block, unblock, restore), which a conflict of interest taints even
 *   when the case is not about the staff member.
 */
export type CaseRelation = 'party' | 'dealings';

const ownCase = (why: string) =>
  new ForbiddenError('own_case', `staff do not decide their own cases: ${why}; another staff member must`);

export type CaseRules = ReturnType<typeof createCaseRules>;

/**
 * The one rule for every staff decision about people: nobody decides their own case, and only an admin
 * decides about a staff account. Services call it inside their transaction before they write, so a refusal
 * leaves nothing behind, audit included. The system itself (jobs, CLI) is nobody's party.
 */
export function createCaseRules() {
  const finders: TieFinder[] = [];

  async function assertNotOwnCase(
    tx: Db,
    actor: Actor,
    parties: readonly (string | null | undefined)[],
    relation: CaseRelation,
  ) {
    const me = actor.userId;
    if (!me) return;
    const people = [...new Set(parties.filter((p): p is string => !!p))];
    if (people.includes(me)) throw ownCase('this is about you');
    if (relation === 'party') return;
    for (const person of people) {
      for (const find of finders) {
        const tie = await find(tx, me, person);
        if (tie) throw ownCase(`you and this user have ${tie} together`);
      }
    }
  }

  return {
    /** For app.ts: a module that holds dealings between people lends them to the rule. */
    addTies(finder: TieFinder) {
      finders.push(finder);
    },

    assertNotOwnCase,

    /**
     * A staff action on an account (`roles`: the ones it holds, and for a role change the ones it would
     * get): not on one's own or, by `relation`, on someone one has dealings with; a staff account only by
     * an admin.
     */
    async assertMayActOnAccount(
      tx: Db,
      actor: Actor,
      account: { id: string; roles: readonly Role[] },
      relation: CaseRelation,
    ) {
      if (account.id === actor.userId) throw ownCase('this is your own account');
      if (account.roles.some((r) => STAFF_ROLES.includes(r)) && !actor.roles.includes('admin')) {
        throw new ForbiddenError('staff_account_admin_only', 'only an admin may change a staff account');
      }
      await assertNotOwnCase(tx, actor, [account.id], relation);
    },
  };
}
