// Frustration in a user's message, one of the input guard's handoff triggers: phrases,
// repeated contact, requests for a human, shouting. Pure; the patterns compile at module load.

const FRUSTRATION_SIGNALS: Array<[string, RegExp]> = [
  ['exasperation', /\b(?:this is (?:ridiculous|absurd|unacceptable|a joke|insane|a nightmare)|ridiculous|unacceptable|fed up|sick (?:and tired )?of|had enough|waste of (?:my )?time|wasting my time|beyond frustrat\w*|so frustrat\w*|i'm done|i am done)\b/i],
  ['repeated_contact', /\b(?:(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+(?:th)?) time|again and again|keep (?:asking|telling|calling)|(?:already|i've) (?:told|asked|explained|called|written)|how many times|still (?:not|doesn't|isn't|hasn't|broken|waiting|no)\b)/i],
  ['useless', /\b(?:useless|worthless|pointless|not helpful|unhelpful|doesn't help|didn't help|no help at all)\b/i],
  ['human_request', /\b(?:speak|talk|chat)(?:ing)? (?:to|with) (?:a |an |the |your |some)?(?:real |actual |live )?(?:human|person|agent|manager|supervisor|representative|someone|somebody|operator)\b|\b(?:get|give) me (?:a |an )?(?:human|real person|manager|supervisor)\b|\bescalate\b/i],
  ['complaint_threat', /\b(?:cancel(?:ling)? my (?:account|subscription|order)|never (?:buy|buying|ordering) (?:from you|again)|report you|leave a (?:bad|negative|1-star|one-star) review|chargeback|lawyer|worst (?:service|support|company|experience|printer|customer service))\b/i],
  ['exclamations', /[!?]{3,}|!{2,}/],
];
/** Words of 3+ letters in capitals, e.g. "THIS IS BROKEN". Short acronyms (USB, PDF) alone are not shouting. */
const CAPS_WORD = /\b\p{Lu}{3,}\b/gu;
const ANY_WORD = /\b\p{L}{3,}\b/gu;

/** Signals that a user is frustrated: phrases, repeated contact, requests for a human, shouting. */
export function detectFrustration(text: string): { frustrated: boolean; signals: string[] } {
  const signals = FRUSTRATION_SIGNALS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
  const caps = text.match(CAPS_WORD)?.length ?? 0;
  const words = text.match(ANY_WORD)?.length ?? 0;
  if (caps >= 3 && caps / Math.max(1, words) >= 0.5) signals.push('shouting');
  return { frustrated: signals.length > 0, signals };
}
