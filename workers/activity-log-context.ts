// Every line an activity logs says which task, workflow, run, activity, attempt and tenant it
// belongs to: the worker runs each activity inside a log context (infra/log-context.ts) that
// the logger's mixin reads. An interceptor, so no activity has to remember to do it.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { rememberTaskTenant, withLogContext, type LogContext } from '../infra/log-context.js';
import { rootWorkflowId } from '../infra/workflow-tenants.js';

/** How an activity's tenant is found when its input does not carry one (the task's row). */
export type TenantOf = (workflowId: string) => Promise<string | undefined>;

export function activityLogContext(tenantOf: TenantOf): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const workflowId = info.workflowExecution?.workflowId;
        const taskId = workflowId ? rootWorkflowId(workflowId) : undefined;
        // Almost every activity's input names its tenant; the rest are looked up by workflow id
        // (a cached read of the task's row). A failed lookup costs the line its tenant, never the activity.
        const tenantId = tenantInInput(input.args[0]) ?? (workflowId ? await tenantOf(workflowId).catch(() => undefined) : undefined);
        if (taskId && tenantId) rememberTaskTenant(taskId, tenantId);
        const context: LogContext = {
          ...(taskId ? { taskId, workflowId, runId: info.workflowExecution!.runId } : {}),
          activity: info.activityType,
          attempt: info.attempt,
          ...(tenantId ? { tenantId } : {}),
        };
        return withLogContext(context, () => next(input));
      },
    },
  });
}

function tenantInInput(arg: unknown): string | undefined {
  const tenantId = typeof arg === 'object' && arg !== null ? (arg as { tenantId?: unknown }).tenantId : undefined;
  return typeof tenantId === 'string' && tenantId ? tenantId : undefined;
}
