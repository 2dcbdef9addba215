// What a caller sees of masked PII: the values behind the placeholders for a key with the
// pii:read role (admin implies it), the placeholders for everyone else.
import { PiiVault } from '../activities/guardrails/vault.js';
import type { PayloadKeyRing } from '../infra/config.js';
import type { Db } from '../infra/db/pool.js';
import { hasRole, type Principal } from './auth.js';

export class PiiReveal {
  private readonly vault: PiiVault;

  constructor(db: Db, keyRing: PayloadKeyRing) {
    this.vault = new PiiVault(db, keyRing);
  }

  mayReveal(principal: Principal): boolean {
    return hasRole(principal, 'pii:read');
  }

  /** `value` with this task's placeholders restored, if the caller may see them. */
  async forCaller<T>(principal: Principal, taskId: string, value: T): Promise<T> {
    if (!this.mayReveal(principal)) return value;
    return this.vault.unmask(taskId, value);
  }

  /**
   * An approval restored for whoever may decide or review approvals: an approver must see
   * the real address an email would go to, the real record a change would touch.
   */
  async forApprover<T>(principal: Principal, taskId: string, approval: T): Promise<T> {
    if (!this.mayReveal(principal) && !hasRole(principal, 'approvals:read')) return approval;
    return this.vault.unmask(taskId, approval);
  }
}
