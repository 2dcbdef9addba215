// Why a workflow refused an Update: the ApplicationFailure type its validator throws. The
// workflow throws these, the API maps each to an HTTP status (api/errors.ts): one list, so a
// new refusal cannot reach the API as an unmapped 500.
import { z } from 'zod';

export const updateRefusalCode = z.enum([
  // decideApproval
  'ApprovalNotFound',
  'ApprovalAlreadyDecided',
  'ArgumentsHashMismatch',
  'ApprovalForbidden',
  // sendMessage
  'TaskFinished',
  // reviewAnswer
  'NothingToReview',
  'ReviewForbidden',
  // any Update whose argument is malformed
  'InvalidArguments',
]);
export type UpdateRefusalCode = z.infer<typeof updateRefusalCode>;

/** The codes by name, for the code that throws them: `UpdateRefusal.TaskFinished`. */
export const UpdateRefusal = updateRefusalCode.enum;
