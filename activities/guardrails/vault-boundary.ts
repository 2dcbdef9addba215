// The PII vault's boundary around an agent's activities. The workflow, its history and the
// model only ever hold placeholders; a tool acts on the real values. So arguments are unmasked
// on the way into an activity, and what goes back to the workflow is masked on the way out,
// per the task's policy, into the task's vault.
import { maskPiiIn } from './tool-output.js';
import type { GuardrailPolicies, TaskPolicy } from './policy.js';
import type { PiiVault } from './vault.js';

/** Whose vault and policy an activity guards with. */
export interface VaultScope {
  tenantId: string;
  taskId: string;
  /** A plan's sub-tasks share their parent's vault. */
  vaultTaskId?: string;
  /** The task's policy as the workflow holds it; the tenant's current one when absent. */
  policy?: TaskPolicy;
}

export class VaultBoundary {
  constructor(
    readonly vault: PiiVault,
    private readonly policies: GuardrailPolicies,
  ) {}

  /** The task whose vault holds the values. */
  vaultTaskId(scope: VaultScope): string {
    return scope.vaultTaskId ?? scope.taskId;
  }

  /** `value` with the real values back in place of its placeholders. */
  unmask<T>(scope: VaultScope, value: T): Promise<T> {
    return this.vault.unmask(this.vaultTaskId(scope), value);
  }

  /** `value` with its PII masked per the task's output policy (one vault transaction). */
  async mask<T>(scope: VaultScope, value: T): Promise<T> {
    const policy = scope.policy ?? (await this.policies.current(scope.tenantId));
    return (await maskPiiIn(this.vault, policy.policy, { tenantId: scope.tenantId, taskId: this.vaultTaskId(scope) }, value)).value;
  }

  /** Both directions for one model turn: its calls are checked on real values and kept as placeholders. */
  masking(scope: VaultScope): { unmask(value: unknown): Promise<unknown>; mask<T>(value: T): Promise<T> } {
    return { unmask: (value) => this.unmask(scope, value), mask: (value) => this.mask(scope, value) };
  }
}
